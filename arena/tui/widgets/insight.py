"""InsightPanel: what the agent that just moved thought of the position, as a small table with bars.

MCTS shows each candidate's visits, win rate and prior; policy networks their
probabilities; DQN its Q-values. Rows are the agent's own order (best first)
and as many as fit.
"""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
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
    """Shows one Insight; `who` names the agent it came from (a label, may carry colour)."""

    COMPONENT_CLASSES = {"insight--bar", "insight--head", "insight--best"}

    insight: reactive[Insight | None] = reactive(None, always_update=True)
    who: reactive[Text] = reactive(Text(""), always_update=True)

    def show(self, who: Text | str, insight: Insight | None) -> None:
        """Display `insight` (None: the agent says nothing) from the agent `who`."""
        self.who = who if isinstance(who, Text) else Text(who)
        self.insight = insight

    def render(self) -> Text:
        insight = self.insight
        out = Text()
        out.append_text(self.who)
        if insight is None:
            if self.who.plain:
                out.append("\nno insight from this agent", style="dim")
            else:
                out.append("waiting for the first move", style="dim")
            return out
        head = self.get_component_rich_style("insight--head", partial=True)
        barstyle = self.get_component_rich_style("insight--bar", partial=True)
        best = self.get_component_rich_style("insight--best", partial=True)
        details = [insight.note] if insight.note else []
        if insight.value is not None:
            details.append(("win rate " if insight.kind == "mcts" else "value ")
                           + (f"{insight.value:.0%}" if insight.kind == "mcts" else f"{insight.value:.3g}"))
        if details:
            out.append("\n" + " · ".join(details), style="dim")
        rows = max(self.size.height - 4, 1)
        width = max(self.size.width, 30)
        actions = insight.actions[:rows]
        bar_w = max(width - 30, 6)
        if insight.kind == "mcts":
            out.append(f"\n{'move':<6}{'visits':>7}  {'':<{bar_w}}{'win':>5}{'prior':>7}", style=head)
            # Bars are visits against the most visited move: the search's preference at a glance.
            most = max((a.visits or 0 for a in insight.actions), default=0) or 1
            for i, a in enumerate(actions):
                share = (a.visits or 0) / most
                line = Text(f"\n{a.label:<6}{a.visits or 0:>7}  ", style=best if i == 0 else "")
                line.append(bar(share, bar_w), style=barstyle)
                prior = f"{a.prior:.2f}" if a.prior is not None else "-"
                line.append(f"{a.score:>5.0%}{prior:>7}", style=best if i == 0 else "")
                out.append_text(line)
        elif insight.kind == "probs":
            out.append(f"\n{'move':<8}{'prob':>7}  policy", style=head)
            for i, a in enumerate(actions):
                line = Text(f"\n{a.label:<8}{a.score:>7.1%}  ", style=best if i == 0 else "")
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
                line = Text(f"\n{a.label:<8}{a.score:>9.3f}  ", style=best if i == 0 else "")
                line.append(bar(0.05 + 0.95 * fraction, bar_w + 10), style=barstyle)
                out.append_text(line)
        hidden = len(insight.actions) - len(actions)
        if hidden > 0:
            out.append(f"\n… {hidden} more", style="dim")
        return out
