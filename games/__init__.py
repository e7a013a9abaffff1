"""Games: rules, search states, PettingZoo envs, gymnasium adapters, network input
features and the user-error type: the lowest layer of Arena."""

__version__ = "0.1.0"
