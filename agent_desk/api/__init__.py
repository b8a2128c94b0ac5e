"""HTTP routes of the desk, one module per audience."""
