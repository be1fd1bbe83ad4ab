"""Statistical disclosure control: small cells, secondary suppression, the audited publication."""
