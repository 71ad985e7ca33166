"""The pure media engine: legal text, speech, rendering. Imports nothing from the app."""
