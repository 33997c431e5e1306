"""Raw data: the schema of the Marvel characters file and a seeded generator of it."""
