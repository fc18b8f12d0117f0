"""Report service: the Typst PDF of the territorial diagnosis, the CSV export and the project files."""
