"""The neighbourhood diagnosis report (stage ``street_diagnosis_report``)."""
