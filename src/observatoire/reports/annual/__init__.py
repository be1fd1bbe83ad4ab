"""The annual observatory report: context, chapters, figures, tables workbook and deck."""
