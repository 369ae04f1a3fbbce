"""Entry points: ESPnet's own mains, run after our classes are registered."""
