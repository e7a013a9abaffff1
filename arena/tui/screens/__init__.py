"""The app's screens: Home, Watch, Play, Training, Agents."""
