"""Dashboard pages (UI only)."""
