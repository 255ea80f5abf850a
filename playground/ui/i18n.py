"""The UI's words in English and French.

Component labels use ``I18N(key)``: Gradio picks the browser's language (or the one chosen
in its settings panel). Text produced on the server (status lines) uses :func:`tr` with the
language of the request.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlparse

import gradio as gr

TRANSLATIONS: dict[str, dict[str, str]] = {
    "en": {
        "title": "# Playground: text generation, zero to few shots",
        # shown instead of Gradio's own message when the app's queue is full (see ui/page.py)
        "queue_full": "The playground is busy: the waiting line is full. Please try again in a moment.",
        "tab_lab": "Prompting lab",
        "tab_generate": "Generate",
        "model": "Model",
        "adapter": "Adapter (LoRA)",
        "prompt": "Prompt",
        "wrap": "Wrap the prompt in the model's template (chat / instruction models)",
        "generate": "Generate",
        "stop": "Stop",
        "settings": "Settings",
        "temperature": "Temperature (0 = greedy)",
        "top_p": "Top-p",
        "top_k": "Top-k (0 = off)",
        "max_new_tokens": "Max new tokens",
        "repetition_penalty": "Repetition penalty",
        "no_repeat_ngram_size": "No-repeat n-gram size (0 = off)",
        "stop_strings": "Stop strings (one per line, \\n = newline)",
        "seed": "Seed (empty = random)",
        "random_seed": "random",
        "no_adapter": "none (base model)",
        "output": "Output",
        "preset": "Preset",
        "task": "Task description",
        "examples": "Examples (add, remove or edit rows)",
        "example_input": "input",
        "example_output": "output",
        "query": "Query",
        "separator": "Separator",
        "run_shots": "Run zero-, one- and few-shot",
        "move_row": "Example number",
        "move_up": "Move up",
        "move_down": "Move down",
        "exact_prompt": "Exact few-shot prompt",
        "tokens": "Its tokens (piece and id)",
        "distribution_raw": "Next token: the model's distribution",
        "distribution_adjusted": "Next token: after temperature, top-k and top-p",
        "inspect": "Inspect the prompt",
        "zero_shot": "Zero-shot",
        "one_shot": "One-shot",
        "few_shot": "Few-shot",
        "tab_style": "George Sand",
        "tab_instructions": "Instructions",
        "d_model": "Model",
        "d_adapter": "adapter",
        "d_source": "Source",
        "d_license": "Licence",
        "d_generating": "Generating…",
        "d_done": "Done",
        "d_tokens_in": "{n} tokens in {s:.1f} s ({r:.1f} tokens/s)",
        "d_tokens": "{n} tokens",
        "d_seed": "Seed",
        # said once by a screen reader when a run ends without its "Done" line (Stop, an error), see ui/accessibility.py
        "a11y_ended": "The generation ended early.",
        "a11y_results": "The results are ready.",
        "d_logprob": "log-probability {total:.2f} ({mean:.2f} per token, perplexity {perplexity:.2f})",
        "explorer_lab": "Token explorer: the few-shot answer, token by token",
        "explorer_generate": "Token explorer: the answer, token by token",
        "explorer_style": "Token explorer: the adapter's text, token by token",
        "explorer_instructions": "Token explorer: the adapter's answer, token by token",
        "explorer_original": "**Original**",
        "explorer_branch": "**Branch** (click an alternative in the original)",
        "explorer_legend": "The model's probability of each token:",
        "explorer_forced": "written by the branch",
        "explorer_hint": (
            "Hover or tap a token to see what else the model could have written there; "
            "click an alternative to branch: same prompt, settings and seed, that token instead. "
            "Keyboard: the arrow keys move from token to token, Enter goes to the alternatives, "
            "Enter on one branches, Escape comes back."
        ),
        "explorer_hint_view": (
            "Hover or tap a token to see what else the model could have written there. "
            "Keyboard: the arrow keys move from token to token."
        ),
        "explorer_tokens": "The answer, token by token",
        "explorer_token_name": "{piece}, {percent} percent",
        "explorer_less_than": "less than {n}",
        "explorer_space": "space",
        "explorer_newline": "line break",
        "explorer_nothing": "empty token",
        "explorer_alternatives": "What the model could have written instead of {piece}",
        "explorer_token": "token",
        "explorer_model": "model",
        "explorer_sampled": "sampled from",
        "explorer_branch_hint": "click to branch here",
        "explorer_branch_note": "Branch at token {n}: {old} → {new}",
        "finish_eos": "the model ended its answer",
        "finish_stop_string": "a stop string was reached",
        "finish_length": "the token limit was reached",
        "finish_cancelled": "stopped",
        "finish_time_limit": "the time limit was reached",
        "finish_error": "an error occurred",
        "c_model": "model",
        "c_perplexity": "perplexity",
        "c_accuracy": "next-token accuracy",
        "c_tokens": "tokens",
        "c_seconds": "seconds",
        "c_source": "source",
        "c_license": "licence",
        "tab_compare": "Compare",
        "share": "Share this setup",
        "share_link": "Link that opens this setup",
        "reproduce": "Reproduce in Python",
        "reproduce_intro": (
            "The code that runs what this tab shows, with transformers, peft and torch only: the same model and "
            "adapter, the exact prompt, every setting and the seed. Copy it and run it with `python`, or download "
            "it as a notebook with a note before each step."
        ),
        "reproduce_pane": "Answer to reproduce",
        "reproduce_show": "Show the Python script",
        "reproduce_notebook": "Download the notebook (.ipynb)",
        "reproduce_code": "Python script",
        "tab_lens": "Tokenizer lens",
        "lens_intro": (
            "One sentence in five languages, cut into tokens by each model's tokenizer. Edit the sentences, "
            "or pick a ready-made one (English-French pairs from Tatoeba, with the same sentence in Spanish, "
            "German and Italian)."
        ),
        "lens_examples": "Ready-made sentences",
        "lens_en": "English",
        "lens_fr": "French",
        "lens_es": "Spanish",
        "lens_de": "German",
        "lens_it": "Italian",
        "lens_run": "Cut into tokens",
        "lens_table": "Tokens by tokenizer and language",
        "lens_chart": "Tokens per word",
        "lens_meaning": (
            "**What the numbers mean.** A model reads and writes tokens, not words: more tokens for the same "
            "sentence means a higher cost (compute, time, and money for a paid API), less text in the same "
            "context window, and more steps where a small model can go wrong. GPT-2's tokenizer learned its "
            "pieces from English web pages, so it cuts a French word into more pieces than an English one; "
            "Gemma's tokenizer, made for many languages, cuts French almost as it cuts English. "
            "That is one reason why a small English model writes poor French, and why a French GPT-2 "
            "(gpt2-wechsel-french) comes with a tokenizer of its own."
        ),
        "l_tokenizer": "Tokenizer",
        "l_language": "Language",
        "l_tokens": "Tokens",
        "l_words": "Words",
        "l_tokens_per_word": "Tokens per word",
        "l_chars_per_token": "Characters per token",
        "l_pieces": "Pieces",
        "link_warnings": "Some parts of the link were ignored",
        "examples_menu": "Ready-made instructions",
        "model_a": "Model A",
        "model_b": "Model B",
        "builtin_text": "Built-in held-out text",
        "text_to_score": "Text to score (paste your own)",
        "evaluate": "Evaluate",
        "results": "Perplexity (lower is better) and next-token accuracy (higher is better)",
        "opening": "Opening (the model continues it)",
        "openings": "Openings",
        "style_adapter": "Style adapter",
        "instructions_adapter": "Instruction adapter",
        "instruction": "Instruction",
        "instruction_input": "Input (optional)",
        "base_pane": "Base model",
        "adapter_pane": "Base model + adapter",
        "base_prompt": "Exact prompt given to the base",
        "adapter_prompt": "Exact prompt given to base + adapter (the same)",
        "style_intro": (
            "The base model and the George Sand adapter continue the same French opening, "
            "with the same settings and seed."
        ),
        "instructions_intro": (
            "The same prompt, in the template the instruction adapter was trained on, given to "
            "the pretrained base and to the base + adapter: LoRA teaches the base to answer and to stop."
        ),
        # the lab's shot curve (playground/ui/shot_curve_section.py, curve_chart.py)
        "curve": "Shot curve: the score against the number of examples",
        "curve_intro": (
            "Quality rises with the number of examples in the prompt (the GPT-3 paper's curve). Each run draws "
            "k examples from the pool, answers every test query with them and scores the answers; several "
            "draws at each k give the mean (the line) and the spread (the band, each dot a run). The same seed "
            "draws the same examples. The views: the same examples in other orders; the pool's outputs shuffled "
            "among its inputs (random labels); for a classification, the labels' probabilities calibrated on "
            'a content-free input such as "N/A".'
        ),
        "curve_pool": "Pool of examples (each run draws its k examples here)",
        "curve_tests": "Test set: a query and its reference answer",
        "curve_query": "query",
        "curve_reference": "reference",
        "curve_shots": "Numbers of examples (k)",
        "curve_orderings": "Draws at each k",
        "curve_seed": "Seed of the draws (empty = random)",
        "curve_metric": "Metric",
        "metric_chrf": "chrF (translation)",
        "metric_exact": "exact match",
        "metric_accuracy": "accuracy (classification: labels scored)",
        "curve_models": "Also draw these base models",
        "curve_view": "View",
        "view_curve": "Curve: other examples at each draw",
        "view_order": "Order: the same examples, reordered",
        "view_random_labels": "Random labels: gold vs shuffled outputs",
        "view_calibration": "Calibration: before vs after",
        "curve_draw": "Draw the curve",
        "curve_order": "Order",
        "curve_random": "Random labels",
        "curve_calibrate": "Calibration",
        "curve_chart": "The curve",
        "curve_chart_name": "Chart of the shot curve: the score against the number of examples (numbers in the table)",
        "curve_table": "The curve's numbers",
        "curve_json": "The curve as data (JSON)",
        "cv_series": "series",
        "cv_shots": "k (examples)",
        "cv_mean": "mean",
        "cv_low": "lowest",
        "cv_high": "highest",
        "cv_runs": "runs",
        "cv_x": "examples in the prompt (k)",
        "cv_metric_chrf": "chrF",
        "cv_metric_exact": "exact match %",
        "cv_metric_accuracy": "accuracy %",
        "cv_title_curve": "Few-shot: the score against the number of examples",
        "cv_title_order": "The same examples in other orders",
        "cv_title_random_labels": "Gold labels vs random labels",
        "cv_title_calibration": "Label probabilities before vs after calibration",
        "cv_cached_title": " (from the cache)",
        "cv_gold": "gold labels",
        "cv_random": "random labels",
        "cv_before": "before calibration",
        "cv_after": "after calibration",
        "cv_same_examples": "same examples, reordered",
        "cv_running": "Scoring: {done} of {planned} answers",
        "cv_done": "Done: {planned} answers",
        "cv_stopped": "Stopped after {done} of {planned} answers",
        "cv_seed": "seed {seed}",
        "cv_rise": "{name}: {low:.1f} at k = {k0}, {high:.1f} at k = {k1} ({metric})",
        "cv_from_cache": (
            "From the cache of shipped curves, drawn by the app's own code (`{command}`) for the same model, "
            "examples, tests and settings; change the seed to draw it live."
        ),
        # the classroom (ui/classroom_tab.py, ui/classroom_view.py, ui/classroom_sends.py)
        "tab_classroom": "Classroom",
        "room_intro": (
            "A class runs the lab on its own phones and laptops; the teacher sees everyone's runs on one board, "
            "with counts per lesson, and runs blind votes. No account: students join with the room's code and a "
            "name they choose. A room and everything in it is deleted 12 hours after it opens."
        ),
        "room_join_heading": "### Join a class",
        "room_code": "Room code",
        "room_name": "Your name, as the class will see it",
        "room_join": "Join",
        "room_teach_heading": "### Teach a class",
        "room_title": "Title (optional)",
        "room_open": "Open a classroom",
        "room_send": "Send to the class",
        "room_sent": "Sent to room {code} ({count} runs sent).",
        "room_joined": (
            "You are {name} in room {code}. Runs sent: {posts}. In the Prompting lab, George Sand and Instructions "
            "tabs, Send to the class sends the run on screen to your teacher's board."
        ),
        "room_leave": "Leave this room",
        "room_vote_heading_student": "### Vote: which answer is better?",
        "room_vote_prompt": "The question or prompt",
        "room_answer_a": "Answer A",
        "room_answer_b": "Answer B",
        "room_pick_a": "A is better",
        "room_pick_b": "B is better",
        "room_pick_tie": "Tie",
        "room_no_vote_yet": "No vote yet: the teacher starts one.",
        "room_vote_open": "Pick A, B or tie. You see the two answers in your own order; nobody knows which is which.",
        "room_vote_cast": "Your vote: {choice}. The result appears when the teacher closes the vote.",
        "room_vote_result": (
            "Result: A was {a_label} ({a_votes} votes), B was {b_label} ({b_votes} votes), ties: {ties}. "
            "Your vote: {chosen}."
        ),
        "room_qr": "QR code of the link students open",
        "room_teacher_link": "Your private teacher link: it opens this board on another device (do not project it)",
        "room_refresh": "Refresh",
        "room_csv": "Download every run (CSV)",
        "room_vote_setup": "Blind vote",
        "room_vote_from_run": "Fill from a student's run (zero- vs few-shot, base vs adapter)",
        "room_side_1_label": "Side 1: its name (shown when the vote closes)",
        "room_side_1_answer": "Side 1: the answer",
        "room_side_2_label": "Side 2: its name (shown when the vote closes)",
        "room_side_2_answer": "Side 2: the answer",
        "room_vote_start": "Start the vote",
        "room_vote_close": "Close the vote and show the result",
        "room_clear": "Clear the board",
        "room_clear_yes": "Yes: delete every run and vote",
        "room_close": "Close the room",
        "room_close_yes": "Yes: close it and delete everything",
        "room_closed": "The room is closed: everything in it was deleted.",
        "room_board_head": "Room {code} · {students} students · {runs} runs · closes in {hours} h {minutes} min",
        "room_students": "Students:",
        "room_nobody_yet": "nobody yet",
        "room_lessons": "Lessons",
        "room_lesson_given": "{shots} gave the reference answer for {given} of {students} students",
        "room_latest_runs": "Latest runs, grouped by setup",
        "room_no_runs_yet": "No run yet: students send theirs with Send to the class.",
        "room_students_count": "{count} students",
        "room_open_setup": "Open this setup in the lab",
        "room_student": "Student",
        "room_vote_heading": "Vote:",
        "room_vote_ballots": "{ballots} of {students} students voted (the tally shows when you close the vote)",
        "room_vote_tally": "Closed: {label_1} {votes_1} votes, {label_2} {votes_2} votes, ties {ties}",
        "room_curves": "Shot curves of the class",
        "room_curve_head": "{title} · {metric} · {students} students · {tests} test items",
        "room_curve_head_counted": "{title} · from the lab's runs (no shot curve sent yet)",
        "room_curve_title": "The class's shot curve",
        "room_curve_class": "class: mean of the students' means",
        "room_curve_counted": "lab runs: answers giving the reference",
        "room_curve_chart": (
            "Chart of the class's shot curve for {title}: {metric} against the number of examples "
            "(numbers in the table beside it)"
        ),
        "room_curve_table": "The numbers of the class's curve for {title}",
        "room_curve_students": "students",
        "room_curve_answers": "answers giving it / answers",
        "room_curve_who": "Curves sent by: {names}",
        "cv_metric_reference": "answers giving the reference %",
    },
    "fr": {
        "queue_full": "Le playground est occupé : la file d'attente est pleine. Réessayez dans un instant.",
        "title": "# Playground : génération de texte, de zéro à quelques exemples",
        "tab_lab": "Labo de prompts",
        "tab_generate": "Générer",
        "model": "Modèle",
        "adapter": "Adaptateur (LoRA)",
        "prompt": "Prompt",
        "wrap": "Mettre le prompt dans le modèle de conversation (modèles chat / instructions)",
        "generate": "Générer",
        "stop": "Arrêter",
        "settings": "Réglages",
        "temperature": "Température (0 = glouton)",
        "top_p": "Top-p",
        "top_k": "Top-k (0 = désactivé)",
        "max_new_tokens": "Nombre maximal de nouveaux tokens",
        "repetition_penalty": "Pénalité de répétition",
        "no_repeat_ngram_size": "Taille des n-grammes non répétés (0 = désactivé)",
        "stop_strings": "Chaînes d'arrêt (une par ligne, \\n = saut de ligne)",
        "seed": "Graine (vide = aléatoire)",
        "random_seed": "aléatoire",
        "no_adapter": "aucun (modèle de base)",
        "output": "Sortie",
        "preset": "Exemple prêt à l'emploi",
        "task": "Description de la tâche",
        "examples": "Exemples (ajouter, supprimer ou modifier des lignes)",
        "example_input": "entrée",
        "example_output": "sortie",
        "query": "Requête",
        "separator": "Séparateur",
        "run_shots": "Lancer en zero-, one- et few-shot",
        "move_row": "Numéro de l'exemple",
        "move_up": "Monter",
        "move_down": "Descendre",
        "exact_prompt": "Prompt few-shot exact",
        "tokens": "Ses tokens (morceau et identifiant)",
        "distribution_raw": "Token suivant : la distribution du modèle",
        "distribution_adjusted": "Token suivant : après température, top-k et top-p",
        "inspect": "Examiner le prompt",
        "zero_shot": "Zero-shot (sans exemple)",
        "one_shot": "One-shot (un exemple)",
        "few_shot": "Few-shot (quelques exemples)",
        "tab_style": "George Sand",
        "tab_instructions": "Instructions",
        "d_model": "Modèle",
        "d_adapter": "adaptateur",
        "d_source": "Source",
        "d_license": "Licence",
        "d_generating": "Génération…",
        "d_done": "Terminé",
        "d_tokens_in": "{n} tokens en {s:.1f} s ({r:.1f} tokens/s)",
        "d_tokens": "{n} tokens",
        "d_seed": "Graine",
        "a11y_ended": "La génération s'est arrêtée avant la fin.",
        "a11y_results": "Les résultats sont prêts.",
        "d_logprob": "log-probabilité {total:.2f} ({mean:.2f} par token, perplexité {perplexity:.2f})",
        "explorer_lab": "Explorateur de tokens : la réponse few-shot, token par token",
        "explorer_generate": "Explorateur de tokens : la réponse, token par token",
        "explorer_style": "Explorateur de tokens : le texte de l'adaptateur, token par token",
        "explorer_instructions": "Explorateur de tokens : la réponse de l'adaptateur, token par token",
        "explorer_original": "**Réponse d'origine**",
        "explorer_branch": "**Bifurcation** (cliquez une alternative dans l'original)",
        "explorer_legend": "La probabilité de chaque token selon le modèle :",
        "explorer_forced": "écrit par la bifurcation",
        "explorer_hint": (
            "Survolez ou touchez un token pour voir ce que le modèle aurait pu écrire à sa place ; "
            "cliquez une alternative pour bifurquer : même prompt, mêmes réglages et même graine, ce token à la place. "
            "Au clavier : les flèches passent d'un token à l'autre, Entrée mène aux alternatives, "
            "Entrée sur l'une d'elles bifurque, Échap revient."
        ),
        "explorer_hint_view": (
            "Survolez ou touchez un token pour voir ce que le modèle aurait pu écrire à sa place. "
            "Au clavier : les flèches passent d'un token à l'autre."
        ),
        "explorer_tokens": "La réponse, token par token",
        "explorer_token_name": "{piece}, {percent} pour cent",
        "explorer_less_than": "moins de {n}",
        "explorer_space": "espace",
        "explorer_newline": "saut de ligne",
        "explorer_nothing": "token vide",
        "explorer_alternatives": "Ce que le modèle aurait pu écrire à la place de {piece}",
        "explorer_token": "token",
        "explorer_model": "modèle",
        "explorer_sampled": "tiré de",
        "explorer_branch_hint": "cliquez pour bifurquer ici",
        "explorer_branch_note": "Bifurcation au token {n} : {old} → {new}",
        "finish_eos": "le modèle a terminé sa réponse",
        "finish_stop_string": "une chaîne d'arrêt a été atteinte",
        "finish_length": "la limite de tokens a été atteinte",
        "finish_cancelled": "arrêté",
        "finish_time_limit": "la limite de temps a été atteinte",
        "finish_error": "une erreur est survenue",
        "c_model": "modèle",
        "c_perplexity": "perplexité",
        "c_accuracy": "exactitude du token suivant",
        "c_tokens": "tokens",
        "c_seconds": "secondes",
        "c_source": "source",
        "c_license": "licence",
        "tab_compare": "Comparer",
        "share": "Partager cette configuration",
        "share_link": "Lien qui ouvre cette configuration",
        "reproduce": "Reproduire en Python",
        "reproduce_intro": (
            "Le code qui fait tourner ce que montre cet onglet, avec transformers, peft et torch seulement : le même "
            "modèle et le même adaptateur, exactement le même prompt, tous les réglages et la graine. Copiez-le et "
            "lancez-le avec `python`, ou téléchargez-le en notebook, avec une note avant chaque étape."
        ),
        "reproduce_pane": "Réponse à reproduire",
        "reproduce_show": "Afficher le script Python",
        "reproduce_notebook": "Télécharger le notebook (.ipynb)",
        "reproduce_code": "Script Python",
        "tab_lens": "Loupe à tokens",
        "lens_intro": (
            "Une phrase en cinq langues, découpée en tokens par le tokeniseur de chaque modèle. Modifiez les "
            "phrases, ou choisissez-en une toute prête (des paires anglais-français de Tatoeba, avec la même "
            "phrase en espagnol, en allemand et en italien)."
        ),
        "lens_examples": "Phrases toutes prêtes",
        "lens_en": "Anglais",
        "lens_fr": "Français",
        "lens_es": "Espagnol",
        "lens_de": "Allemand",
        "lens_it": "Italien",
        "lens_run": "Découper en tokens",
        "lens_table": "Tokens par tokeniseur et par langue",
        "lens_chart": "Tokens par mot",
        "lens_meaning": (
            "**Ce que disent les nombres.** Un modèle lit et écrit des tokens, pas des mots : plus de tokens pour "
            "la même phrase, c'est un coût plus élevé (calcul, temps, et argent pour une API payante), moins de "
            "texte dans la même fenêtre de contexte, et plus d'étapes où un petit modèle peut se tromper. Le "
            "tokeniseur de GPT-2 a appris ses morceaux sur des pages web anglaises : il coupe un mot français en "
            "plus de morceaux qu'un mot anglais ; celui de Gemma, fait pour de nombreuses langues, découpe le "
            "français presque comme l'anglais. C'est une des raisons pour lesquelles un petit modèle "
            "anglais écrit mal le français, et pour lesquelles un GPT-2 français (gpt2-wechsel-french) a son "
            "propre tokeniseur."
        ),
        "l_tokenizer": "Tokeniseur",
        "l_language": "Langue",
        "l_tokens": "Tokens",
        "l_words": "Mots",
        "l_tokens_per_word": "Tokens par mot",
        "l_chars_per_token": "Caractères par token",
        "l_pieces": "Morceaux",
        "link_warnings": "Certaines parties du lien ont été ignorées",
        "examples_menu": "Instructions toutes prêtes",
        "model_a": "Modèle A",
        "model_b": "Modèle B",
        "builtin_text": "Texte de test intégré",
        "text_to_score": "Texte à évaluer (collez le vôtre)",
        "evaluate": "Évaluer",
        "results": "Perplexité (plus bas = mieux) et exactitude du token suivant (plus haut = mieux)",
        "opening": "Début de texte (le modèle le continue)",
        "openings": "Débuts de texte",
        "style_adapter": "Adaptateur de style",
        "instructions_adapter": "Adaptateur d'instructions",
        "instruction": "Instruction",
        "instruction_input": "Entrée (facultative)",
        "base_pane": "Modèle de base",
        "adapter_pane": "Modèle de base + adaptateur",
        "base_prompt": "Prompt exact donné au modèle de base",
        "adapter_prompt": "Prompt exact donné au modèle + adaptateur (le même)",
        "style_intro": (
            "Le modèle de base et l'adaptateur George Sand continuent le même début de texte, "
            "avec les mêmes réglages et la même graine."
        ),
        "instructions_intro": (
            "Le même prompt, dans le gabarit d'entraînement de l'adaptateur d'instructions, donné au "
            "modèle de base pré-entraîné et au modèle + adaptateur : LoRA lui apprend à répondre et à s'arrêter."
        ),
        "curve": "Courbe des exemples : le score selon le nombre d'exemples",
        "curve_intro": (
            "La qualité monte avec le nombre d'exemples dans le prompt (la courbe de l'article de GPT-3). Chaque "
            "essai tire k exemples de la réserve, répond avec eux à chaque requête du test et note les réponses ; "
            "plusieurs tirages pour chaque k donnent la moyenne (la ligne) et l'écart (la bande, chaque point un "
            "essai). La même graine tire les mêmes exemples. Les vues : les mêmes exemples dans d'autres ordres ; "
            "les sorties de la réserve mélangées entre ses entrées (étiquettes au hasard) ; pour une "
            'classification, les probabilités des étiquettes calibrées sur une entrée vide de sens comme "N/A".'
        ),
        "curve_pool": "Réserve d'exemples (chaque essai y tire ses k exemples)",
        "curve_tests": "Jeu de test : une requête et sa réponse de référence",
        "curve_query": "requête",
        "curve_reference": "référence",
        "curve_shots": "Nombres d'exemples (k)",
        "curve_orderings": "Tirages pour chaque k",
        "curve_seed": "Graine des tirages (vide = au hasard)",
        "curve_metric": "Métrique",
        "metric_chrf": "chrF (traduction)",
        "metric_exact": "correspondance exacte",
        "metric_accuracy": "exactitude (classification : étiquettes évaluées)",
        "curve_models": "Tracer aussi ces modèles de base",
        "curve_view": "Vue",
        "view_curve": "Courbe : d'autres exemples à chaque tirage",
        "view_order": "Ordre : les mêmes exemples, réordonnés",
        "view_random_labels": "Étiquettes au hasard : vraies ou mélangées",
        "view_calibration": "Calibration : avant ou après",
        "curve_draw": "Tracer la courbe",
        "curve_order": "Ordre",
        "curve_random": "Étiquettes au hasard",
        "curve_calibrate": "Calibrer",
        "curve_chart": "La courbe",
        "curve_chart_name": "Graphique de la courbe : le score selon le nombre d'exemples (nombres dans le tableau)",
        "curve_table": "Les nombres de la courbe",
        "curve_json": "La courbe en données (JSON)",
        "cv_series": "série",
        "cv_shots": "k (exemples)",
        "cv_mean": "moyenne",
        "cv_low": "minimum",
        "cv_high": "maximum",
        "cv_runs": "essais",
        "cv_x": "exemples dans le prompt (k)",
        "cv_metric_chrf": "chrF",
        "cv_metric_exact": "correspondance exacte %",
        "cv_metric_accuracy": "exactitude %",
        "cv_title_curve": "Few-shot : le score selon le nombre d'exemples",
        "cv_title_order": "Les mêmes exemples dans d'autres ordres",
        "cv_title_random_labels": "Vraies étiquettes ou étiquettes au hasard",
        "cv_title_calibration": "Probabilités des étiquettes avant et après calibration",
        "cv_cached_title": " (depuis le cache)",
        "cv_gold": "vraies étiquettes",
        "cv_random": "étiquettes au hasard",
        "cv_before": "avant calibration",
        "cv_after": "après calibration",
        "cv_same_examples": "mêmes exemples, réordonnés",
        "cv_running": "Évaluation : {done} réponses sur {planned}",
        "cv_done": "Terminé : {planned} réponses",
        "cv_stopped": "Arrêté après {done} réponses sur {planned}",
        "cv_seed": "graine {seed}",
        "cv_rise": "{name} : {low:.1f} à k = {k0}, {high:.1f} à k = {k1} ({metric})",
        "cv_from_cache": (
            "Depuis le cache des courbes livrées, tracées par le code de l'application (`{command}`) pour le même "
            "modèle, les mêmes exemples, tests et réglages ; changez la graine pour la tracer en direct."
        ),
        "tab_classroom": "Classe",
        "room_intro": (
            "La classe lance le labo sur ses téléphones et ordinateurs ; l'enseignant voit les essais de tous sur "
            "un tableau, avec les comptes par leçon, et lance des votes à l'aveugle. Aucun compte : les élèves "
            "rejoignent avec le code de la salle et un nom de leur choix. Une salle et tout ce qu'elle contient "
            "sont effacés 12 heures après son ouverture."
        ),
        "room_join_heading": "### Rejoindre une classe",
        "room_code": "Code de la salle",
        "room_name": "Votre nom, tel que la classe le verra",
        "room_join": "Rejoindre",
        "room_teach_heading": "### Animer une classe",
        "room_title": "Titre (facultatif)",
        "room_open": "Ouvrir une classe",
        "room_send": "Envoyer à la classe",
        "room_sent": "Envoyé à la salle {code} ({count} essais envoyés).",
        "room_joined": (
            "Vous êtes {name} dans la salle {code}. Essais envoyés : {posts}. Dans les onglets Labo de prompts, "
            "George Sand et Instructions, Envoyer à la classe envoie l'essai affiché au tableau de l'enseignant."
        ),
        "room_leave": "Quitter cette salle",
        "room_vote_heading_student": "### Vote : quelle réponse est la meilleure ?",
        "room_vote_prompt": "La question ou le prompt",
        "room_answer_a": "Réponse A",
        "room_answer_b": "Réponse B",
        "room_pick_a": "A est meilleure",
        "room_pick_b": "B est meilleure",
        "room_pick_tie": "Égalité",
        "room_no_vote_yet": "Pas encore de vote : l'enseignant en lance un.",
        "room_vote_open": (
            "Choisissez A, B ou égalité. Vous voyez les deux réponses dans votre propre ordre ; personne ne sait "
            "laquelle est laquelle."
        ),
        "room_vote_cast": "Votre vote : {choice}. Le résultat s'affiche quand l'enseignant ferme le vote.",
        "room_vote_result": (
            "Résultat : A était {a_label} ({a_votes} votes), B était {b_label} ({b_votes} votes), égalités : "
            "{ties}. Votre vote : {chosen}."
        ),
        "room_qr": "QR code du lien qu'ouvrent les élèves",
        "room_teacher_link": (
            "Votre lien privé d'enseignant : il ouvre ce tableau sur un autre appareil (ne le projetez pas)"
        ),
        "room_refresh": "Actualiser",
        "room_csv": "Télécharger tous les essais (CSV)",
        "room_vote_setup": "Vote à l'aveugle",
        "room_vote_from_run": "Remplir depuis l'essai d'un élève (zero- contre few-shot, base contre adaptateur)",
        "room_side_1_label": "Côté 1 : son nom (montré à la fermeture du vote)",
        "room_side_1_answer": "Côté 1 : la réponse",
        "room_side_2_label": "Côté 2 : son nom (montré à la fermeture du vote)",
        "room_side_2_answer": "Côté 2 : la réponse",
        "room_vote_start": "Lancer le vote",
        "room_vote_close": "Fermer le vote et montrer le résultat",
        "room_clear": "Vider le tableau",
        "room_clear_yes": "Oui : effacer tous les essais et votes",
        "room_close": "Fermer la salle",
        "room_close_yes": "Oui : la fermer et tout effacer",
        "room_closed": "La salle est fermée : tout ce qu'elle contenait a été effacé.",
        "room_board_head": "Salle {code} · {students} élèves · {runs} essais · ferme dans {hours} h {minutes} min",
        "room_students": "Élèves :",
        "room_nobody_yet": "personne pour l'instant",
        "room_lessons": "Leçons",
        "room_lesson_given": "{shots} a donné la réponse de référence pour {given} élèves sur {students}",
        "room_latest_runs": "Derniers essais, regroupés par configuration",
        "room_no_runs_yet": "Pas encore d'essai : les élèves envoient les leurs avec Envoyer à la classe.",
        "room_students_count": "{count} élèves",
        "room_open_setup": "Ouvrir cette configuration dans le labo",
        "room_student": "Élève",
        "room_vote_heading": "Vote :",
        "room_vote_ballots": (
            "{ballots} élèves sur {students} ont voté (le décompte s'affiche quand vous fermez le vote)"
        ),
        "room_vote_tally": "Fermé : {label_1} {votes_1} votes, {label_2} {votes_2} votes, égalités {ties}",
        "room_curves": "Courbes des exemples de la classe",
        "room_curve_head": "{title} · {metric} · {students} élèves · {tests} éléments de test",
        "room_curve_head_counted": "{title} · d'après les essais du labo (aucune courbe envoyée pour l'instant)",
        "room_curve_title": "La courbe de la classe",
        "room_curve_class": "classe : moyenne des moyennes des élèves",
        "room_curve_counted": "essais du labo : réponses donnant la référence",
        "room_curve_chart": (
            "Graphique de la courbe de la classe pour {title} : {metric} selon le nombre d'exemples "
            "(les nombres sont dans le tableau à côté)"
        ),
        "room_curve_table": "Les nombres de la courbe de la classe pour {title}",
        "room_curve_students": "élèves",
        "room_curve_answers": "réponses la donnant / réponses",
        "room_curve_who": "Courbes envoyées par : {names}",
        "cv_metric_reference": "réponses donnant la référence %",
    },
}

I18N = gr.I18n(**TRANSLATIONS)


def request_language(request: Any) -> str:
    """The UI language of a request: ``?lang=`` of the page, else the browser's Accept-Language."""
    if request is None:
        return "en"
    headers = {k.lower(): v for k, v in dict(getattr(request, "headers", {}) or {}).items()}
    query = parse_qs(urlparse(headers.get("referer", "")).query)
    lang = (query.get("lang") or query.get("__lang") or [""])[0]
    if lang in TRANSLATIONS:
        return lang
    for part in headers.get("accept-language", "").split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in TRANSLATIONS:
            return code
    return "en"


def tr(key: str, lang: str = "en") -> str:
    """The text of ``key`` in ``lang`` (English when the language or key is unknown)."""
    return TRANSLATIONS.get(lang, TRANSLATIONS["en"]).get(key) or TRANSLATIONS["en"][key]
