"""Dashboard helpers shared by the pages (sidebar, session keys, store access); not pages."""
