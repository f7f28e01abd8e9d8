"""Pure domain values: scopes, the business calendar, figures and periods. No SQL, no I/O."""
