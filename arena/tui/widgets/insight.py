"""InsightPanel: what the agent that just moved thought of the position, as a small table with bars.

MCTS shows each candidate's visits, win rate and prior; policy networks their
probabilities; DQN its Q-values. Rows are the agent's own order (best first)
and as many as fit.
"""

from __future__ import annotations

import time

from rich.style import Style
from rich.text import Text
from textual.reactive import reactive
from textual.timer import Timer
from textual.widget import Widget

from agents.base import Insight

_EIGHTHS = " ▏▎▍▌▋▊▉"


def bar(fraction: float, width: int) -> str:
    """A horizontal bar `width` cells long filled to `fraction` (0..1), in eighths of a cell."""
    fraction = min(max(fraction, 0.0), 1.0)
    eighths = round(fraction * width * 8)
    full, part = divmod(eighths, 8)
    text = "█" * full + (_EIGHTHS[part] if part else "")
    return text.ljust(width)


class InsightPanel(Widget):
    """Shows one Insight; `who` names the agent it came from (a label, may carry colour).

    `seat` names the side that agent plays ("Black"): every figure is from
    that side's point of view, and the panel says so. `ply` is the move the
    insight is about (shown as its number). While an agent searches
    (`thinking`), a line says who and for how long (redrawn ten times a
    second), and the insight on show is marked as an earlier move's until
    the new one arrives.
    """

    COMPONENT_CLASSES = {"insight--bar", "insight--head", "insight--best"}

    insight: reactive[Insight | None] = reactive(None, always_update=True)
    who: reactive[Text] = reactive(Text(""), always_update=True)

    def __init__(self, *, id: str | None = None, classes: str | None = None):
        super().__init__(id=id, classes=classes)
        self.seat = ""
        self.ply: int | None = None
        self.thinker: Text | None = None  # who is searching now, if anyone
        self.thinking_since: float | None = None  # time.monotonic() when it began
        self._ticker: Timer | None = None

    def on_mount(self) -> None:
        self._ticker = self.set_interval(0.1, self.refresh, pause=True)

    def show(self, who: Text | str, insight: Insight | None, *, seat: str = "",
             ply: int | None = None) -> None:
        """Display `insight` (None: the agent says nothing) from the agent `who`, playing `seat`.

        `ply` (0-based) is the move it is about. Ends any `thinking` line.
        """
        self.seat, self.ply = seat, ply
        self._stop_thinking()
        self.who = who if isinstance(who, Text) else Text(who)
        self.insight = insight

    def thinking(self, who: Text | None, since: float | None = None) -> None:
        """`who` is searching since `since` (time.monotonic()); None: nobody is."""
        if who is None:
            self._stop_thinking()
        else:
            self.thinker = who
            self.thinking_since = time.monotonic() if since is None else since
            if self._ticker is not None:
                self._ticker.resume()
        self.refresh()

    def _stop_thinking(self) -> None:
        self.thinker = self.thinking_since = None
        if self._ticker is not None:
            self._ticker.pause()

    @property
    def stale(self) -> bool:
        """True while the insight on show is from before the search going on now."""
        return self.thinker is not None

    def thinking_line(self) -> Text:
        """The thinking line as shown now (empty when nobody is thinking)."""
        if self.thinker is None or self.thinking_since is None:
            return Text()
        elapsed = max(0.0, time.monotonic() - self.thinking_since)
        line = self.thinker.copy()
        line.append(f" is thinking… {elapsed:.1f} s", style="bold")
        return line

    def _heading(self) -> Text:
        out = Text()
        if self.stale and self.insight is not None:
            out.append("earlier: ", style="dim")
        out.append_text(self.who)
        if self.ply is not None:
            out.append(f" · move {self.ply + 1}", style="dim")
        return out

    def _details(self, insight: Insight) -> list[str]:
        details = [insight.note] if insight.note else []
        if insight.value is not None:
            whose = f" for {self.seat}" if self.seat else ""
            if insight.kind == "mcts":
                details.append(f"win rate{whose} {insight.value:.0%}")
            else:
                details.append(f"value{whose} {insight.value:+.3g}")
        return details

    def render(self) -> Text:
        insight = self.insight
        out = Text()
        lines = 0
        thinking = self.thinking_line()
        if thinking:
            out.append_text(thinking)
            lines += 1
        if insight is None:
            if thinking:
                return out
            out.append_text(self.who)
            if self.who.plain:
                out.append("\nno insight from this agent", style="dim")
            else:
                out.append("waiting for the first move", style="dim")
            return out
        if thinking:
            out.append("\n")
        out.append_text(self._heading())
        lines += 1
        head = self.get_component_rich_style("insight--head", partial=True)
        barstyle = self.get_component_rich_style("insight--bar", partial=True)
        best = self.get_component_rich_style("insight--best", partial=True)
        if self.stale:  # an earlier move's: drawn faint, so it does not read as current
            head = head + Style(dim=True)
            barstyle = barstyle + Style(dim=True)
            best = Style(dim=True)
        normal = Style(dim=True) if self.stale else Style()
        width = max(self.size.width, 30)
        details = self._details(insight)
        if details:
            text = " · ".join(details)
            out.append("\n" + text, style="dim")
            lines += max(1, -(-len(text) // width))
        rows = max(self.size.height - lines - 2, 1)  # the column heads and "… more"
        actions = insight.actions[:rows]
        bar_w = max(width - 30, 6)
        if insight.kind == "mcts":
            out.append(f"\n{'move':<6}{'visits':>7}  {'':<{bar_w}}{'win':>5}{'prior':>7}", style=head)
            # Bars are visits against the most visited move: the search's preference at a glance.
            most = max((a.visits or 0 for a in insight.actions), default=0) or 1
            for i, a in enumerate(actions):
                share = (a.visits or 0) / most
                line = Text(f"\n{a.label:<6}{a.visits or 0:>7}  ", style=best if i == 0 else normal)
                line.append(bar(share, bar_w), style=barstyle)
                prior = f"{a.prior:.2f}" if a.prior is not None else "-"
                line.append(f"{a.score:>5.0%}{prior:>7}", style=best if i == 0 else normal)
                out.append_text(line)
        elif insight.kind == "probs":
            out.append(f"\n{'move':<8}{'prob':>7}  policy", style=head)
            for i, a in enumerate(actions):
                line = Text(f"\n{a.label:<8}{a.score:>7.1%}  ", style=best if i == 0 else normal)
                line.append(bar(a.score, bar_w + 12), style=barstyle)
                out.append_text(line)
        else:
            label = "Q" if insight.kind == "q" else "score"
            out.append(f"\n{'move':<8}{label:>9}  ", style=head)
            scores = [a.score for a in insight.actions] or [0.0]
            low, high = min(scores), max(scores)
            span = high - low
            for i, a in enumerate(actions):
                # Bars show where each value lies between the worst and the best action.
                fraction = (a.score - low) / span if span > 0 else 1.0
                line = Text(f"\n{a.label:<8}{a.score:>9.3f}  ", style=best if i == 0 else normal)
                line.append(bar(0.05 + 0.95 * fraction, bar_w + 10), style=barstyle)
                out.append_text(line)
        hidden = len(insight.actions) - len(actions)
        if hidden > 0:
            out.append(f"\n… {hidden} more", style="dim")
        return out
