"""The HUD beside the board: who plays, the score, what the mover thinks, the keys.

`Scene` is everything the HUD shows, kept up to date by the match observer
and the human agent; `draw_hud` paints a Scene into a rectangle and returns
the rectangles it used (bars included), so tests can check the layout
without reading text off pixels.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from agents.base import Insight
from arena.window import theme

KIND_TITLES = {"mcts": "search", "probs": "policy", "q": "Q-values"}


@dataclass
class Scene:
    """What the window shows besides the board."""

    title: str
    mode: str = "watch"  # "watch" or "play"
    names: list[str] = field(default_factory=list)  # per seat, as shown
    humans: set[int] = field(default_factory=set)  # seats a person plays
    seat_names: tuple[str, ...] = ()  # "Black", "White" ... from the painter
    game_no: int = 1
    games: int | None = 1  # None: until the person stops
    ply: int = 0
    to_play: int | None = None
    episode_return: float | None = None  # single-player games
    returns: list[float] = field(default_factory=list)  # finished episodes' returns
    last: str = ""  # what happened last, one line
    last_colour: tuple[int, int, int] = theme.MUTED
    insight: Insight | None = None
    insight_by: int | None = None  # the seat whose thinking `insight` is
    insight_ply: int | None = None  # the move (0-based) `insight` is about
    action_labels: list[str] | None = None  # better names for actions (single-player)
    status: str = ""
    status_colour: tuple[int, int, int] = theme.TEXT
    result: str | None = None
    tally: dict[str, list[int]] = field(default_factory=dict)  # name -> [wins, draws, losses]
    speed: float = 1.0
    paused: bool = False
    show_heat: bool = True
    hint: str = ""


@dataclass
class HudLayout:
    """Where draw_hud put things: the panel, the seat rows, the bars (action, filled rect)."""

    panel: Any = None
    seats: list[Any] = field(default_factory=list)
    bars: list[tuple[int, Any]] = field(default_factory=list)
    tracks: list[Any] = field(default_factory=list)
    note: tuple[str, Any] | None = None  # the position's line (Go: the score) and its rect


def _blit(surface: Any, text: str, size: int, colour: tuple[int, int, int], pos: tuple[int, int],
          bold: bool = False, anchor: str = "topleft") -> Any:
    image = theme.font(size, bold).render(text, True, colour)
    rect = image.get_rect(**{anchor: pos})
    surface.blit(image, rect)
    return rect


def _fit(text: str, size: int, width: int, bold: bool = False) -> str:
    """`text`, shortened with an ellipsis to fit `width` px."""
    f = theme.font(size, bold)
    if f.size(text)[0] <= width:
        return text
    while text and f.size(text + "…")[0] > width:
        text = text[:-1]
    return text + "…"


def _wrap(text: str, size: int, width: int, bold: bool = False) -> list[str]:
    """`text` in lines that fit `width` px in that font; a word too long for a line is split."""
    f = theme.font(size, bold)
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line = ""
        for word in paragraph.split(" "):
            trial = f"{line} {word}".strip()
            if f.size(trial)[0] <= width:
                line = trial
                continue
            if line:
                lines.append(line)
            while f.size(word)[0] > width and len(word) > 1:  # a path, a long reference
                cut = len(word) - 1
                while cut > 1 and f.size(word[:cut])[0] > width:
                    cut -= 1
                lines.append(word[:cut])
                word = word[cut:]
            line = word
        lines.append(line)
    return lines


def _card(surface: Any, rect: Any, colour: tuple[int, int, int] = theme.PANEL) -> None:
    import pygame

    pygame.draw.rect(surface, colour, rect, border_radius=10)
    pygame.draw.rect(surface, theme.PANEL_EDGE, rect, 1, border_radius=10)


def _fmt(value: float) -> str:
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"


def draw_hud(surface: Any, rect: Any, scene: Scene, painter: Any = None,
             subject: Any = None) -> HudLayout:
    """Paint `scene` into `rect` of `surface`; the rectangles used.

    `painter` draws the seats' pieces and `subject` (the position) lets it
    add a fact per seat, such as Go's captures.
    """
    import pygame

    layout = HudLayout(panel=rect)
    x, y, w = rect.x, rect.y, rect.w
    pad = 16

    # Title and mode.
    _blit(surface, _fit(scene.title, 26, w - 110, True), 26, theme.TEXT, (x, y), bold=True)
    if scene.mode == "watch":
        speed = "paused" if scene.paused else f"{scene.speed:g}×" if theme.has_glyphs("×") \
            else f"x{scene.speed:g}"
        _blit(surface, speed, 15, theme.WARN if scene.paused else theme.MUTED,
              (x + w, y + 8), anchor="topright")
    if scene.names and len(scene.names) == 1:
        what = "episode"
    else:
        what = "game"
    of = f" of {scene.games}" if scene.games else ""
    verb = "Watching" if scene.mode == "watch" else "Playing"
    _blit(surface, f"{verb} · {what} {scene.game_no}{of}", 15, theme.MUTED, (x, y + 34))
    y += 64

    # Seats (two players) or the episode figures (one player).
    if len(scene.names) >= 2:
        for seat, name in enumerate(scene.names):
            row = pygame.Rect(x, y, w, 50)
            moving = scene.to_play == seat and scene.result is None
            _card(surface, row, (40, 45, 56) if moving else theme.PANEL)
            if moving:
                pygame.draw.rect(surface, theme.ACCENT, (x, y + 8, 4, 34), border_radius=2)
            if painter is not None:
                painter.draw_piece(surface, (x + 30, y + 25), 14, seat)
            who = name + (" (you)" if seat in scene.humans and scene.mode == "play" else "")
            _blit(surface, _fit(who, 17, w - 150, True), 17, theme.TEXT, (x + 54, y + 7), bold=True)
            tag = scene.seat_names[seat] if seat < len(scene.seat_names) else f"player {seat + 1}"
            detail = painter.seat_detail(subject, seat) if painter is not None and subject else ""
            if detail:
                tag += f" · {detail}"
            if moving:
                tag += " · to move"
            _blit(surface, tag, 13, theme.ACCENT if moving else theme.MUTED, (x + 54, y + 29))
            wins, draws, losses = scene.tally.get(name, [0, 0, 0])
            if wins or draws or losses:
                _blit(surface, f"{wins}W {draws}D {losses}L", 14, theme.MUTED,
                      (x + w - 12, y + 17), anchor="topright")
            layout.seats.append(row)
            y += 58
    elif scene.names:
        row = pygame.Rect(x, y, w, 92)
        _card(surface, row)
        who = "You" if scene.mode == "play" and 0 in scene.humans else scene.names[0]
        _blit(surface, _fit(who, 17, w - 2 * pad, True), 17, theme.TEXT, (x + pad, y + 10),
              bold=True)
        figures = [("return", _fmt(scene.episode_return or 0.0)), ("step", str(scene.ply))]
        if scene.returns:
            mean = sum(scene.returns) / len(scene.returns)
            figures.append(("mean", _fmt(round(mean, 1))))
        col = (w - 2 * pad) // len(figures)
        for i, (label, value) in enumerate(figures):
            _blit(surface, value, 24, theme.TEXT, (x + pad + i * col, y + 38), bold=True)
            _blit(surface, label, 12, theme.MUTED, (x + pad + i * col, y + 68))
        layout.seats.append(row)
        y += 100

    # The position's own line (Go: the score estimate).
    note = painter.position_note(subject) if painter is not None and subject is not None else ""
    if note:
        note = _fit(note, 15, w)
        layout.note = (note, _blit(surface, note, 15, theme.TEXT, (x, y + 2)))
        y += 24

    # Status: what happened, whose turn, the result.
    y += 4
    lines = []
    if scene.result:
        lines.append((scene.result, theme.GOOD, True))
    if scene.status:
        lines.append((scene.status, scene.status_colour, False))
    if scene.last:
        lines.append((scene.last, scene.last_colour, False))
    for text, colour, bold in lines:
        for line in _wrap(text, 15, w, bold):
            _blit(surface, line, 15, colour, (x, y), bold=bold)
            y += 21
    y += 10

    # Insight: what the last mover thought, as bars.
    footer = _wrap(scene.hint, 13, w) if scene.hint else []
    bottom = rect.bottom - len(footer) * 18 - 8
    if scene.insight is not None and scene.insight.actions and bottom - y > 90:
        y = _draw_insight(surface, pygame.Rect(x, y, w, bottom - y), scene, layout)

    # Footer: the keys.
    fy = rect.bottom - len(footer) * 18
    for line in footer:
        _blit(surface, line, 13, theme.FAINT, (x, fy))
        fy += 18
    return layout


def _label(action: Any, scene: Scene) -> str:
    """An action's label, or the game's name for it where the agent gave only its number."""
    label = action.label
    names = scene.action_labels
    if names and label == str(action.action) and 0 <= action.action < len(names):
        return names[action.action]
    return label


def _draw_insight(surface: Any, rect: Any, scene: Scene, layout: HudLayout) -> int:
    import pygame

    insight = scene.insight
    assert insight is not None
    x, y, w = rect.x, rect.y, rect.w
    pad = 14
    kind = insight.kind
    colour = theme.BAR.get(kind, theme.ACCENT)
    by = scene.insight_by
    who = scene.names[by] if by is not None and by < len(scene.names) else "agent"
    seat = scene.seat_names[by] if by is not None and by < len(scene.seat_names) else ""
    # The same agent to move again: what is on show is its previous move's thinking.
    earlier = (by is not None and scene.to_play == by and scene.result is None
               and by not in scene.humans)
    details = []
    if scene.insight_ply is not None:
        details.append(f"move {scene.insight_ply + 1}" + (" (earlier)" if earlier else ""))
    if insight.note:
        details.append(insight.note)
    if insight.value is not None:
        whose = f" for {seat}" if seat else ""  # the mover's view, as the moves' win rates
        details.append(f"win rate{whose} {insight.value:.0%}" if kind == "mcts"
                       else f"value{whose} {insight.value:+.2f}")
    detail_lines: list[str] = []  # the details, whole, joined by " · " as far as a line goes
    small = theme.font(13)
    for detail in details:
        joined = f"{detail_lines[-1]} · {detail}" if detail_lines else detail
        if detail_lines and small.size(joined)[0] <= w - 2 * pad:
            detail_lines[-1] = joined
        else:
            detail_lines.append(detail)
    acts = insight.actions
    row_h = 24
    head_h = 12 + 24 + 18 * len(detail_lines) + (4 if detail_lines else 0) + 20
    room = max(0, (rect.h - head_h - 12 - 18) // row_h)
    shown = acts[: min(room, 12)]
    if not shown:
        return y
    # The card is as tall as what it holds.
    more_h = 18 if len(acts) > len(shown) else 0
    card = pygame.Rect(x, y, w, head_h + len(shown) * row_h + more_h + 10)
    _card(surface, card)
    y += 12
    heading = f"{who}: {KIND_TITLES.get(kind, kind)}"
    _blit(surface, _fit(heading, 16, w - 2 * pad, True), 16, theme.TEXT, (x + pad, y), bold=True)
    y += 24
    for line in detail_lines:
        _blit(surface, _fit(line, 13, w - 2 * pad), 13, theme.MUTED, (x + pad, y))
        y += 18
    if detail_lines:
        y += 4
    # Column headers.
    value_w = 96
    # The label column fits the longest label shown ("push right", "UPLEFTFIRE"), within reason.
    labels = [_label(a, scene) for a in shown]
    label_w = min(int(w * 0.42), max(60, max(theme.font(14, True).size(t)[0] for t in labels) + 12))
    track_x = x + pad + label_w
    track_w = w - 2 * pad - label_w - value_w
    heads = {"mcts": ("visits", "win"), "probs": ("probability", ""), "q": ("Q-value", "")}
    left, right = heads.get(kind, ("score", ""))
    _blit(surface, "move", 12, theme.FAINT, (x + pad, y))
    _blit(surface, left, 12, theme.FAINT, (track_x, y))
    if right:
        _blit(surface, right, 12, theme.FAINT, (x + w - pad, y), anchor="topright")
    y += 20
    if kind == "mcts":
        total = sum(a.visits or 0 for a in acts) or 1
        top = max(a.visits or 0 for a in acts) or 1
        fractions = [(a.visits or 0) / top for a in shown]
        texts = [(f"{(a.visits or 0) / total:.0%}", f"{a.score:.0%}") for a in shown]
    elif kind == "q":
        lo = min(a.score for a in acts)
        hi = max(a.score for a in acts)
        fractions = [(a.score - lo) / (hi - lo) if hi > lo else 1.0 for a in shown]
        texts = [(f"{a.score:+.3f}", "") for a in shown]
    else:
        fractions = [max(0.0, min(1.0, a.score)) for a in shown]
        texts = [(f"{a.score:.0%}" if a.score >= 0.01 else f"{a.score:.1%}", "") for a in shown]
    for a, label, fraction, (main, extra) in zip(shown, labels, fractions, texts):
        _blit(surface, _fit(label, 14, label_w - 8, True), 14, theme.TEXT, (x + pad, y + 3),
              bold=True)
        track = pygame.Rect(track_x, y + 4, track_w, row_h - 10)
        pygame.draw.rect(surface, theme.BAR_TRACK, track, border_radius=4)
        filled = pygame.Rect(track.x, track.y, max(3, round(track.w * fraction)), track.h)
        pygame.draw.rect(surface, colour, filled, border_radius=4)
        layout.tracks.append(track)
        layout.bars.append((a.action, filled))
        if extra:
            _blit(surface, main, 14, theme.TEXT, (x + w - pad - 46, y + 3), anchor="topright")
            _blit(surface, extra, 14, theme.MUTED, (x + w - pad, y + 3), anchor="topright")
        else:
            _blit(surface, main, 14, theme.TEXT, (x + w - pad, y + 3), anchor="topright")
        y += row_h
    if len(acts) > len(shown):
        _blit(surface, f"+ {len(acts) - len(shown)} more", 12, theme.FAINT, (x + pad, y + 2))
    return card.bottom + 8
