"""BoardView: a board game's position, drawn with coordinates, clickable and keyboard-driven.

Each known game has a geometry: how the board is drawn cell by cell, which
action a terminal cell stands for (clicks), and how a keyboard cursor moves.
Tic-tac-toe, connect four and Go (5x5 to 19x19, which fits 120x40) have their
own; any other board game falls back to its `render_text()` (watchable, not
clickable).
"""

from __future__ import annotations

from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget

from games.state import GameState

# Style lookups are by component class name; see app.tcss for the colours.
Palette = dict[str, Style]


class Geometry:
    """How one game's board maps to terminal cells. Subclasses fill in the drawing."""

    width: int = 0
    height: int = 0
    classes: tuple[str, ...] = ()  # component classes the drawing uses
    css_class: str = ""  # set on the BoardView, so app.tcss can colour each game apart
    seat_names: tuple[str, ...] = ()  # how each player's side is called ("Black", "Red", "X")

    def lines(self, state: GameState, last: int | None, cursor: int | None,
              palette: Palette) -> list[Text]:
        raise NotImplementedError

    def action_at(self, x: int, y: int) -> int | None:
        """The action a click on cell (x, y) of the board stands for, or None."""
        return None

    def _padded(self, lines: list[Text]) -> list[Text]:
        """`lines`, each padded to the drawing's width (a clean rectangle to centre)."""
        for line in lines:
            line.pad_right(self.width - line.cell_len)
        return lines

    def anchor(self, action: int) -> tuple[int, int]:
        """A cell (x, y) inside the drawing of `action` (where a click plays it)."""
        raise NotImplementedError

    def start_cursor(self) -> int:
        return 0

    def key_action(self, character: str) -> int | None:
        """The action a typed character plays directly (connect four's column digits), or None."""
        return None

    def move_cursor(self, cursor: int, dx: int, dy: int) -> int:
        return cursor

    def piece(self, player: int, palette: Palette) -> Text:
        """A player's mark as shown in move lists and status lines."""
        return Text("XO"[player] if player < 2 else str(player))


def _clamp(value: int, low: int, high: int) -> int:
    return max(low, min(high, value))


class TicTacToeGeometry(Geometry):
    """3x3 cells of 7x3 characters; columns a-c, rows 1-3 (action = column * 3 + row)."""

    CELL_W, CELL_H = 7, 3
    width, height = 27, 14
    css_class = "-tictactoe"
    seat_names = ("X", "O")
    classes = ("board--x", "board--o", "board--grid", "board--coord", "board--last", "board--cursor")
    _ART = {
        0: ("  ╲ ╱  ", "   ╳   ", "  ╱ ╲  "),
        1: ("  ╭─╮  ", "  │ │  ", "  ╰─╯  "),
    }

    def lines(self, state, last, cursor, palette):
        grid, coord = palette["board--grid"], palette["board--coord"]
        marks = (palette["board--x"], palette["board--o"])
        out = [Text("      a       b       c", style=coord),
               Text("  ┌───────┬───────┬───────┐", style=grid)]
        for row in range(3):
            for sub in range(self.CELL_H):
                line = Text(f"{row + 1} " if sub == 1 else "  ", style=coord)
                line.append("│", style=grid)
                for column in range(3):
                    action = column * 3 + row
                    owner = state.cell_owner(action)  # type: ignore[attr-defined]
                    art = " " * self.CELL_W if owner is None else self._ART[owner][sub]
                    style = marks[owner] if owner is not None else Style()
                    if action == last:
                        style = style + palette["board--last"]
                    elif action == cursor:
                        style = style + palette["board--cursor"]
                    line.append(art, style=style)
                    line.append("│", style=grid)
                out.append(line)
            border = "  ├───────┼───────┼───────┤" if row < 2 else "  └───────┴───────┴───────┘"
            out.append(Text(border, style=grid))
        return self._padded(out)

    def action_at(self, x, y):
        if not (3 <= x <= 25 and 2 <= y <= 12):
            return None
        column = _clamp((x - 3) // 8, 0, 2)
        row = _clamp((y - 2) // 4, 0, 2)
        return column * 3 + row

    def anchor(self, action):
        column, row = divmod(action, 3)
        return 6 + 8 * column, 3 + 4 * row

    def start_cursor(self):
        return 4

    def move_cursor(self, cursor, dx, dy):
        column, row = divmod(cursor, 3)
        return _clamp(column + dx, 0, 2) * 3 + _clamp(row + dy, 0, 2)

    def piece(self, player, palette):
        return Text("XO"[player], style=palette[("board--x", "board--o")[player]])


class Connect4Geometry(Geometry):
    """7 columns of 6 round holes on a blue board; a click anywhere in a column drops there.

    Each hole is 6x3 characters; half blocks draw a disc 5 wide and 2 lines
    high inside it, leaving board colour between the holes.
    """

    COLUMNS, ROWS, CELL_W, CELL_H = 7, 6, 6, 3
    width, height = 44, 21
    css_class = "-c4"
    seat_names = ("Red", "Yellow")
    classes = ("board--c4", "board--hole", "board--red", "board--yellow", "board--coord",
               "board--last", "board--cursor")
    _DISC = (" ▄▄▄ ", "█████", " ▀▀▀ ")

    def lines(self, state, last, cursor, palette):
        board, coord = palette["board--c4"], palette["board--coord"]
        pieces = (palette["board--red"], palette["board--yellow"])
        marked_row = None
        if last is not None:
            height = state.column_height(last)  # type: ignore[attr-defined]
            marked_row = self.ROWS - height if height else None
        header = Text(" ", style=coord)
        for column in range(self.COLUMNS):
            label = "▼" if column == cursor else str(column + 1)
            style = coord + palette["board--cursor"] if column == cursor else coord
            header.append("   ", style=coord)
            header.append(label, style=style)
            header.append("  ", style=coord)
        out = [header]
        for row in range(self.ROWS):
            lines = [Text(" ", style=board) for _ in range(self.CELL_H)]
            for column in range(self.COLUMNS):
                owner = state.owner_at(row, column)  # type: ignore[attr-defined]
                disc = palette["board--hole"] if owner is None else pieces[owner]
                cell = board
                if column == last and row == marked_row:
                    cell = board + palette["board--last"]
                elif column == cursor:
                    cell = board + palette["board--cursor"]
                disc_style = cell + Style(color=disc.color, bold=False)
                for line, art in zip(lines, self._DISC):
                    line.append(" ", style=cell)
                    line.append(art, style=disc_style)
            for line in lines:
                line.append(" ", style=board)
            out += lines
        footer = Text(" ", style=coord)
        for column in range(self.COLUMNS):
            footer.append(f"   {column + 1}  ", style=coord)
        out.append(Text(" " * self.width, style=board))
        out.append(footer)
        return self._padded(out)

    def action_at(self, x, y):
        if not (1 <= x < self.width - 1 and 0 <= y < self.height):
            return None
        return _clamp((x - 1) // self.CELL_W, 0, self.COLUMNS - 1)

    def anchor(self, action):
        return 1 + self.CELL_W * action + 3, 1 + self.CELL_H * 3 + 1

    def start_cursor(self):
        return 3

    def key_action(self, character):
        return int(character) - 1 if len(character) == 1 and "1" <= character <= "7" else None

    def move_cursor(self, cursor, dx, dy):
        return _clamp(cursor + dx, 0, self.COLUMNS - 1)

    def piece(self, player, palette):
        return Text("●", style=palette[("board--red", "board--yellow")[player]])


class GoGeometry(Geometry):
    """An n x n grid with GTP coordinates on all four sides.

    Boards up to 9x9 are drawn roomy (points 4 characters and 2 lines
    apart); larger ones two characters apart, so 19x19 takes 43x21 cells.
    """

    COLUMN_LETTERS = "ABCDEFGHJKLMNOPQRST"
    css_class = "-go"
    seat_names = ("Black", "White")
    classes = ("board--wood", "board--black", "board--white", "board--coord", "board--golast",
               "board--gocursor")

    def __init__(self, size: int):
        self.size = size
        self.dx, self.dy = (4, 2) if size <= 9 else (2, 1)
        self.width = self.dx * (size - 1) + 7
        self.height = self.dy * (size - 1) + 3
        from games.go.state import _star_points

        self.stars = _star_points(size)

    def _point(self, row: int, column: int) -> str:
        n = self.size
        if (row, column) in self.stars:
            return "╋"
        top, bottom, left, right = row == 0, row == n - 1, column == 0, column == n - 1
        if top:
            return "┌" if left else "┐" if right else "┬"
        if bottom:
            return "└" if left else "┘" if right else "┴"
        return "├" if left else "┤" if right else "┼"

    def lines(self, state, last, cursor, palette):
        n, dx = self.size, self.dx
        wood, coord = palette["board--wood"], palette["board--coord"]
        stones = (palette["board--black"], palette["board--white"])
        board = state.board()  # type: ignore[attr-defined]
        letters = Text("   ", style=coord)
        for column in range(n):
            letters.append(self.COLUMN_LETTERS[column].ljust(dx if column < n - 1 else 1), style=coord)
        letters.append("   ", style=coord)
        out = [letters]
        for row in range(n):
            line = Text(f"{n - row:>2} ", style=coord)
            for column in range(n):
                action = row * n + column
                value = int(board[row, column])
                if value:
                    char, style = "●", wood + stones[value - 1]
                else:
                    char, style = self._point(row, column), wood
                if action == last:
                    style = style + palette["board--golast"]
                elif action == cursor:
                    style = style + palette["board--gocursor"]
                line.append(char, style=style)
                if column < n - 1:
                    line.append("─" * (dx - 1), style=wood)
            line.append(f" {n - row:<2}", style=coord)
            out.append(line)
            if self.dy == 2 and row < n - 1:
                # The vertical lines between two rows of points.
                between = Text("   ", style=coord)
                between.append(("│" + " " * (dx - 1)) * (n - 1) + "│", style=wood)
                between.append("   ", style=coord)
                out.append(between)
        out.append(letters)
        return out

    def action_at(self, x, y):
        n, dx, dy = self.size, self.dx, self.dy
        span_x, span_y = dx * (n - 1), dy * (n - 1)
        if not (3 - (dx - 1) // 2 <= x <= 3 + span_x + dx // 2 and 1 <= y <= 1 + span_y):
            return None
        # The nearest point; a cell exactly half way counts for the point before it.
        column = _clamp((x - 3 + (dx - 1) // 2) // dx, 0, n - 1)
        row = _clamp((y - 1) // dy, 0, n - 1)
        return row * n + column

    def anchor(self, action):
        row, column = divmod(action, self.size)
        return 3 + self.dx * column, 1 + self.dy * row

    def start_cursor(self):
        return (self.size // 2) * self.size + self.size // 2

    def move_cursor(self, cursor, dx, dy):
        n = self.size
        if cursor >= n * n:  # the pass action: back onto the board
            cursor = self.start_cursor()
        row, column = divmod(cursor, n)
        return _clamp(row + dy, 0, n - 1) * n + _clamp(column + dx, 0, n - 1)

    def piece(self, player, palette):
        return Text("●○"[player])


class TextGeometry(Geometry):
    """Any other board game: its own render_text(), not clickable."""

    classes = ("board--coord",)

    def __init__(self, state: GameState):
        sample = state.render_text().splitlines() or [""]
        self.width = max(len(line) for line in sample) + 2
        self.height = len(sample) + 2

    def lines(self, state, last, cursor, palette):
        return [Text(line) for line in state.render_text(last).splitlines()]

    def anchor(self, action):
        return 0, 0


def geometry_for(state: GameState) -> Geometry:
    """The drawing of `state`'s game."""
    from games.connect4 import Connect4State
    from games.tictactoe import TicTacToeState

    if isinstance(state, TicTacToeState):
        return TicTacToeGeometry()
    if isinstance(state, Connect4State):
        return Connect4Geometry()
    try:
        from games.go.state import GoState
    except ImportError:  # the compiled Go engine is missing: Go falls back to text
        GoState = None
    if GoState is not None and isinstance(state, GoState):
        return GoGeometry(state.size)
    return TextGeometry(state)


_ALL_CLASSES = {
    "board--x", "board--o", "board--grid", "board--coord", "board--last", "board--cursor",
    "board--c4", "board--hole", "board--red", "board--yellow", "board--wood", "board--black",
    "board--white", "board--golast", "board--gocursor",
}


class BoardView(Widget, can_focus=True):
    """A board game position. Interactive boards show a cursor and post `Chosen` on play.

    Promises: `Chosen(action)` is posted for a click on a cell/column/point,
    for Enter/Space on the cursor and (connect four) for a column's digit,
    only while `interactive` is true; the action may still be illegal, the
    screen decides.
    """

    COMPONENT_CLASSES = _ALL_CLASSES

    BINDINGS = [
        Binding("left", "cursor(-1, 0)", "Left", show=False),
        Binding("right", "cursor(1, 0)", "Right", show=False),
        Binding("up", "cursor(0, -1)", "Up", show=False),
        Binding("down", "cursor(0, 1)", "Down", show=False),
        Binding("enter,space", "choose", "Play here"),
    ]

    state: reactive[GameState | None] = reactive(None, always_update=True, layout=True)
    last_action: reactive[int | None] = reactive(None)
    cursor: reactive[int | None] = reactive(None)
    interactive: reactive[bool] = reactive(False)

    #: Letters the screens bind (new game, pass, undo, resign, quit): never taken as typing.
    RESERVED_KEYS = frozenset("npurq")

    class _Said(Message):
        """A message from `board` (its control)."""

        def __init__(self, board: BoardView):
            super().__init__()
            self.board = board

        @property
        def control(self) -> BoardView:
            return self.board

    class Typed(_Said):
        """The person began typing a move ("e" of "E5") while the board had the focus."""

        def __init__(self, board: BoardView, character: str):
            super().__init__(board)
            self.character = character

    class Chosen(_Said):
        """The person picked `action` on the board."""

        def __init__(self, board: BoardView, action: int):
            super().__init__(board)
            self.action = action

    def __init__(self, *, interactive: bool = False, name: str | None = None,
                 id: str | None = None, classes: str | None = None):
        super().__init__(name=name, id=id, classes=classes)
        self.geometry: Geometry | None = None
        self._state_type: type | None = None
        self.set_reactive(BoardView.interactive, interactive)
        self.can_focus = interactive

    def show(self, state: GameState | None, last_action: int | None = None) -> None:
        """Draw `state` (a copy the caller will not change) with `last_action` marked."""
        if state is not None and (self.geometry is None or type(state) is not self._state_type
                                  or getattr(state, "size", None) != getattr(self.state, "size", None)):
            if self.geometry is not None and self.geometry.css_class:
                self.remove_class(self.geometry.css_class)
            self.geometry = geometry_for(state)
            if self.geometry.css_class:
                self.add_class(self.geometry.css_class)
            self._state_type = type(state)
            self.cursor = self.geometry.start_cursor() if self.interactive else None
        self.last_action = last_action
        self.state = state

    def watch_interactive(self, interactive: bool) -> None:
        self.can_focus = interactive
        if interactive and self.geometry is not None and self.cursor is None:
            self.cursor = self.geometry.start_cursor()
        if not interactive:
            self.cursor = None

    def get_content_width(self, container, viewport) -> int:
        return self.geometry.width if self.geometry else 20

    def get_content_height(self, container, viewport, width) -> int:
        return self.geometry.height if self.geometry else 3

    def _palette(self) -> Palette:
        assert self.geometry is not None
        return {name: self.get_component_rich_style(name, partial=True)
                for name in self.geometry.classes}

    def seat_name(self, player: int) -> str:
        """How `player`'s side is called on this board ("Black", "Red", "X"; else "player 1")."""
        names = self.geometry.seat_names if self.geometry is not None else ()
        return names[player] if 0 <= player < len(names) else f"player {player + 1}"

    def piece(self, player: int) -> Text:
        """A player's mark in this board's colours (for move lists)."""
        if self.geometry is None:
            return Text(str(player))
        return self.geometry.piece(player, self._palette())

    def render(self) -> Text:
        if self.state is None or self.geometry is None:
            return Text("no board yet", style="dim")
        lines = self.geometry.lines(self.state, self.last_action, self.cursor, self._palette())
        return Text("\n").join(lines)

    def cell_of(self, action: int) -> tuple[int, int]:
        """Where to click (relative to this widget's content) to play `action`."""
        assert self.geometry is not None
        return self.geometry.anchor(action)

    # -- input ---------------------------------------------------------------
    def _action_at_event(self, event: events.MouseEvent) -> int | None:
        if self.geometry is None:
            return None
        offset = event.get_content_offset(self)
        if offset is None:
            return None
        return self.geometry.action_at(offset.x, offset.y)

    def on_click(self, event: events.Click) -> None:
        if not self.interactive:
            return
        action = self._action_at_event(event)
        if action is not None:
            self.cursor = action
            self.post_message(self.Chosen(self, action))

    def on_mouse_move(self, event: events.MouseMove) -> None:
        if self.interactive:
            action = self._action_at_event(event)
            if action is not None and action != self.cursor:
                self.cursor = action

    def on_key(self, event: events.Key) -> None:
        if not self.interactive or self.geometry is None or event.character is None:
            return
        action = self.geometry.key_action(event.character)
        if action is not None:
            event.stop()
            self.cursor = action
            self.post_message(self.Chosen(self, action))
        elif event.character.isalpha() and event.character.lower() not in self.RESERVED_KEYS:
            event.stop()  # the start of a move like "E5" or "b2": the screen's move box takes it
            self.post_message(self.Typed(self, event.character))

    def action_cursor(self, dx: int, dy: int) -> None:
        if self.interactive and self.geometry is not None:
            start = self.cursor if self.cursor is not None else self.geometry.start_cursor()
            self.cursor = self.geometry.move_cursor(start, dx, dy)

    def action_choose(self) -> None:
        if self.interactive and self.cursor is not None:
            self.post_message(self.Chosen(self, self.cursor))
