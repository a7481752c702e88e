"""Background jobs: thin entry points that call core services (DESIGN "jobs/")."""
