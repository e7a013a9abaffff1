"""Go: a fast rules engine for 5x5 to 19x19, its PettingZoo env, GTP and SGF."""
