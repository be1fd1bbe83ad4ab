"""The annual observatory report: report-wide data (context), chapters, figures (illustrations),
published tables (exports), slide deck (deck), all assembled by ``report.build_annual_report``."""
