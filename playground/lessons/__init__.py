"""The lessons: zero-, one- and few-shot prompts, the lab's presets, deep links, answers side by side.

What a teacher prepares and a visitor opens, built on :mod:`playground.engine`; the UI
shows it (:mod:`playground.ui`).
"""
