"""The rule catalogue. Importing this package registers every rule."""
