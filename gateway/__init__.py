"""The public entry point of Rézone CPTS: validation, selection cache, resilience, static web, OpenAPI."""
