"""Storage: the dashboard's side of the run store, the result cache, downloads and the claims table."""
