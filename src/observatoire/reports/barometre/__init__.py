"""The violence barometer report (stage ``barometer_report``)."""
