"""Linli's shared core: configuration, database, Redis, jobs, errors, auth, HTTP plumbing."""
