"""The playground's Gradio theme: Gradio's default look, with colours that read (WCAG 2.1 AA).

Gradio's default theme writes white on orange-500 in the primary buttons (2.8:1), white on
red-500 in the Stop buttons (3.8:1), and the subdued grey of slider bounds, info lines and
the footer at 1.9:1 on white; a focused text box is outlined in a pale blue. WCAG 2.1 AA
asks 4.5:1 for text (1.4.3) and 3:1 for the outline that shows focus (1.4.11). The theme
keeps the default's layout, fonts and hues and sets only those colours, in light and dark
mode; ``tests/ui/test_axe_browser.py`` measures the result with axe-core.

The contrast ratios in the comments are WCAG's, against the background each colour sits on.
"""

from __future__ import annotations

import gradio as gr


class PlaygroundTheme(gr.themes.Default):
    """Gradio's default theme with accessible contrast (see the module's docstring)."""

    def __init__(self) -> None:
        super().__init__(primary_hue="orange", secondary_hue="blue", neutral_hue="zinc")
        super().set(
            # white on orange-700: 5.2:1; on orange-800 (hover): 7.3:1
            button_primary_background_fill="*primary_700",
            button_primary_background_fill_hover="*primary_800",
            button_primary_border_color="*primary_700",
            button_primary_border_color_hover="*primary_800",
            button_primary_background_fill_dark="*primary_700",
            button_primary_background_fill_hover_dark="*primary_800",
            button_primary_border_color_dark="*primary_700",
            button_primary_border_color_hover_dark="*primary_800",
            # white on red-700: 6.5:1; on red-800 (hover): 8.3:1
            button_cancel_background_fill="#b91c1c",
            button_cancel_background_fill_hover="#991b1b",
            button_cancel_background_fill_dark="#b91c1c",
            button_cancel_background_fill_hover_dark="#991b1b",
            # slider bounds, info lines, the footer: zinc-600 on white 7.7:1; zinc-400 on zinc-950 10:1
            body_text_color_subdued="*neutral_600",
            body_text_color_subdued_dark="*neutral_400",
            input_placeholder_color="*neutral_500",  # 4.8:1 on white
            input_placeholder_color_dark="*neutral_400",
            # the accent (selected tab, slider track, checkbox): orange-700, 5.2:1 on white
            color_accent="*primary_700",
            # a focused text box: a blue-700 border and ring (6.7:1 on white), not a pale one
            input_border_color_focus="*secondary_700",
            input_border_color_focus_dark="*secondary_400",
            input_shadow_focus="0 0 0 2px *secondary_700",
            input_shadow_focus_dark="0 0 0 2px *secondary_400",
            checkbox_border_color_focus="*secondary_700",
            checkbox_border_color_focus_dark="*secondary_400",
        )


THEME = PlaygroundTheme()
