"""A deterministic demo: a Meilan-like district with a finished 2017 cycle and a 2018 cycle in progress."""
