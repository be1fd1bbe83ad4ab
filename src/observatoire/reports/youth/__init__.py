"""The youth-errance report and its charts."""
