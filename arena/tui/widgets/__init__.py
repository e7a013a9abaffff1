"""The app's widgets: boards, frames, insight, move lists, and the panel that combines them."""
