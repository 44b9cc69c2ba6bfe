"""The patient and staff pages."""
