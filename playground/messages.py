"""Messages the core gives to people (errors, warnings), in English and French.

A :class:`Message` is a ``str`` holding the English text, so logs, API errors and
``str(exc)`` read as before; it also keeps its key and parameters, so the UI can show the
same message in the visitor's language with :func:`localize`. Field names (``temperature``,
``stop[1]``) are API names and stay as they are in every language.

    raise SettingsError(Message("out_of_range", field="top_p", value=1.5, range="(0, 1]"))
    localize(exc, "fr")  # "top_p : 1.5 est hors de l'intervalle (0, 1]"

A parameter that is itself a Message is rendered in the same language.
"""

from __future__ import annotations

from typing import Any

LANGUAGES = ("en", "fr")

CATALOG: dict[str, dict[str, str]] = {
    "en": {
        # settings and request fields
        "not_a_number": "{field}: must be a number, got {type} {value!r}",
        "not_finite": "{field}: must be a finite number, got {value!r}",
        "out_of_range": "{field}: {value} is out of range {range}",
        "not_an_integer": "{field}: must be an integer, got {type} {value!r}",
        "not_a_string": "{field}: must be a string, got {type}",
        "not_a_boolean": "{field}: must be true or false, got {value!r}",
        "bad_unicode": "{field}: invalid Unicode (a lone surrogate) at character {position}",
        "not_a_mapping": "{field}: expected a mapping, got {type}",
        "not_a_list": "{field}: must be a list of strings, got {type}",
        "unknown_setting": "{field}: unknown setting (known: {known})",
        "too_many_stops": "{field}: at most {limit} stop strings, got {count}",
        "empty": "{field}: must not be empty",
        "too_long_chars": "{field}: at most {limit} characters, got {count}",
        "prompt_too_long": "{field}: {count} characters, more than the limit of {limit}",
        "no_tokens": "{field}: encodes to no tokens",
        "text_too_short": "{field}: needs at least two tokens to score next-token predictions",
        "prompt_input_needs_style": "{field}: only used with the model's prompt style",
        "no_room": ("{field}: {value} leaves no room for a prompt in {model}'s context of {context} tokens"),
        "seed_not_integer": "{field}: must be an integer or empty, got {value!r}",
        "example_half": "{field}: needs both an input and an output",
        "not_rows": "{field}: must be a list of [input, output] rows of text, got {type}",
        # the shot curve (playground/lessons/shot_curve.py)
        "not_one_of": "{field}: {value!r} is not one of {choices}",
        "not_whole_numbers": "{field}: must be a list of whole numbers, got {type}",
        "shots_over_pool": "{field}: {value} examples asked for, but the pool has {count}",
        "rows_too_long": "{field}: {count} characters in all, more than the limit of {limit}",
        "too_few_labels": "{field}: a classification needs at least two different outputs (its labels), got {count}",
        "too_many_labels": "{field}: at most {limit} different outputs (labels), got {count}",
        "not_a_label": "{field}: {value!r} is not one of the pool's labels ({labels})",
        "calibration_needs_labels": "{field}: calibration needs a classification (metric 'accuracy')",
        "random_labels_need_pool": "{field}: random labels need at least two examples in the pool",
        "curve_too_much": (
            "{field}: this curve needs {count} answers, more than the limit of {limit}; "
            "ask for fewer shots, orderings, tests or models"
        ),
        "curve_too_long": (
            "{field}: this curve's prompts come to {count} characters, more than the limit of {limit}; "
            "ask for fewer or shorter examples, shots, orderings or tests"
        ),
        "curve_truncated": "Some prompts were longer than {model}'s context: their first tokens were dropped.",
        # branching (token ids)
        "not_a_token_list": "{field}: must be a list of token ids, got {type}",
        "too_many_token_ids": "{field}: at most {limit} token ids (max_new_tokens), got {count}",
        "not_a_token": "{field}: {value!r} is not a token id of {model} (0 to {last})",
        "too_many_rows": "{field}: at most {limit} rows, got {count}",
        "too_many_tokens": "{field}: at most {limit} tokens, got {count}",
        "lab_too_long": (
            "{field}: the task, examples and query together are {count} characters, more than the limit of {limit}"
        ),
        "inspect_truncated": (
            "The prompt was {total} tokens; only its last {kept} are inspected ({model}'s context is {context} tokens)."
        ),
        # models and adapters
        "unknown_model": "{field}: unknown model {name!r} (known: {known})",
        "model_not_at_hand": "{field}: no source can provide {name!r} here now (at hand: {known})",
        "unknown_adapter": "{field}: unknown adapter {name!r} (known: {known})",
        "adapter_other_base": "{field}: {name!r} belongs to model {base!r}, not {model!r}",
        "adapter_not_attached": "{field}: {name!r} is not attached to model {model!r}",
        "adapter_refused": "adapter {name!r} could not be loaded: {reason}",
        "adapter_dora_int8": "adapter {name!r} uses DoRA, which needs float weights; this model serves int8 weights",
        "model_load_failed": "{model}: no source could load it; {reasons}",
        # while generating
        "busy": "busy: {waiting} requests are already waiting for {model}; try again in a few seconds",
        "busy_visitor": ("busy: you already have {count} requests waiting or running; try again when one has finished"),
        "unheard": "dropped unrun: no client listened for its results within {seconds} s; send it again",
        "generation_failed": "generation failed after {count} tokens: {reason}",
        "batch_failed": "the batch failed: {reason}",
        "job_cancelled": "stopped before the end",
        "prompt_truncated": (
            "The prompt was {total} tokens; its first {dropped} were dropped to fit {model}'s "
            "context of {context} tokens with {new} new tokens."
        ),
        "time_limit": "Stopped after {seconds:g} s, the time limit of one request.",
        # the app's front door (playground/ui/guard.py)
        "uploads_refused": "this app takes no files: uploads are refused",
        "deep_links_here": "no stored links: this app's links carry their settings in the URL (Share this setup)",
        "queue_only": "this app answers through its queue only (/gradio_api/queue/join or /gradio_api/call/...)",
        "bad_identifier": "{field}: must be 1 to 64 letters, digits, '-' or '_'",
        "unknown_event": "{field}: not an event of this app",
        "body_too_large": "the request is larger than {limit} bytes",
        # loading a model (progress)
        "progress_loading": "Loading {model} from {source}",
        "progress_dequantize": "Dequantizing {file} (first start only)",
        "progress_adapters": "Attaching {count} adapter(s) to {model}",
        "source_local": "local folder",
        "source_hub": "Hub",
        "source_bundled": "bundled file",
        "from_local": "local folder {folder}",
        "from_hub": "Hub {repo}@{revision}",
        "from_hub_cache": "Hub {repo}@{revision} (offline cache)",
        "from_bundled_cache": "bundled {package} {version} ({file}), dequantized weights from cache",
        "from_bundled_now": "bundled {package} {version} ({file}), dequantized now",
        "from_bundled_int8_cache": "bundled {package} {version} ({file}), its int8 weights from cache",
        "from_bundled_int8_now": "bundled {package} {version} ({file}), its int8 weights read now",
        "int8_rounded": "{source}, rounded to int8",
        "progress_int8": "Reading the int8 weights of {file} (first start only)",
        # remote servers
        "from_remote": "{dialect} server {url} ({served})",
        "remote_unreachable": "{model}: its server {url} cannot be reached: {reason}",
        "remote_unknown_adapter": "{model}: its server {url} does not serve adapter {name!r} ({reason})",
        "remote_adapter_not_served": "{field}: {name!r} is not served by {model}'s server {url} (it serves: {known})",
        "remote_busy": "busy: the server of {model} ({url}) is full; try again in a few seconds",
        "remote_failed": "{model}: its server {url} answered {status}: {reason}",
        "remote_timeout": "{model}: its server {url} did not answer within {seconds:g} s",
        "no_next_tokens": "{model}: its server ({source}) gives no next-token distribution",
        "no_record_tokens": "{model}: its server ({source}) sends no token probabilities: no token explorer",
        "no_branching": (
            "{model}: its server ({source}) cannot branch an answer (write a chosen token, then go on "
            "with the same seed); the local model can"
        ),
        "no_scoring": "{model}: its server ({source}) cannot score a text (no prompt log-probabilities)",
        "setting_ignored": "{field} is not supported by {source}; it was ignored.",
        "adjusted_from_candidates": (
            "The sampled (adjusted) probabilities are an estimate, computed from the server's {count} most "
            "likely tokens, not the whole vocabulary."
        ),
        # deep links
        "link_ignored": "{reason}; ignored",
        "link_not_one_of": "{field}: {value!r} is not one of {choices}",
        "link_unknown_model": "{field}: unknown model {value!r}",
        "link_unknown_preset": "{field}: unknown preset {value!r}",
        "link_unknown_adapter": "{field}: unknown adapter {value!r}",
        "link_unknown_parameter": "{field}: unknown parameter",
        "link_adapter_other_base": "{field}: {value!r} belongs to {base!r}, not {model!r}",
        "link_bad_examples": (
            "{field}: a list of at most {limit} pairs [input, output], each at most {chars} characters"
        ),
        "link_bad_json": "{field}: {value!r} is not valid JSON",
        "link_branch_pair": "{field}: missing (a branch needs branch_position and branch_token)",
        "link_unknown_parameters": "{count} unknown parameters ({field}, ...)",
        "link_too_long": "{field}: the link would be {count} characters, more than the limit of {limit}",
        "link_too_deep": "{field}: nested more than {limit} levels deep",
        # reproduce in Python (playground/lessons/reproduce.py): errors, then the script's and notebook's text
        "reproduce_no_setup": "{field}: holds no setup (a share link ends with ?tab=...&...)",
        "reproduce_bad_link": "{field}: {reason}",
        "reproduce_no_tab": "{field}: names no tab (tab= one of {tabs})",
        "reproduce_no_adapter": "{field}: the registry has no adapter for the {tab} tab",
        "reproduce_no_code": "{field}: the {tab} tab runs no model to reproduce (a link of {tabs})",
        "rp_intro": (
            "Written by the playground from a share link: plain transformers and torch, no playground. It loads the "
            "model the app used, builds the exact prompt the app built and generates with the same settings."
        ),
        "rp_intro_compare": (
            "Written by the playground from a share link: plain transformers and torch, no playground. It loads "
            "the models the app compared and scores them on the same text, cut into the same windows."
        ),
        "rp_run": "Run it with: python {file}",
        "rp_needs": "It needs: {install}",
        "rp_title_lab": "The prompting lab's {pane} answer, with {model}",
        "rp_pane_zero": "zero-shot",
        "rp_pane_one": "one-shot",
        "rp_pane_few": "few-shot",
        "rp_title_style": "George Sand: {model} and {model}{adapter} continue the same opening",
        "rp_title_instructions": "Instructions: {model} and {model}{adapter} answer the same prompt",
        "rp_title_generate": "Generate: {model}{adapter} answers a prompt",
        "rp_title_compare": "Compare: perplexity and next-token accuracy of {first} and {second} on a text",
        "rp_step_model": "The model",
        "rp_model_hub": "{label}: the Hub repository {repo} at commit {revision}, the one the app's registry pins.",
        "rp_model_local": "{label}: a folder on the app's machine (copy it, or load the same model from the Hub).",
        "rp_model_bundled": (
            "{label} ({repo}): the app served it offline from the GGUF file bundled in the {package} package. "
            "transformers reads that file and turns its quantized weights into float32."
        ),
        "rp_model_bundled_hub": 'With access to the Hub, the same model also loads with from_pretrained("{repo}").',
        "rp_int8": (
            "The app computes with the file's own int8 values (each group of 32 inputs rounded to 16 bits); this "
            "script computes the same weights in float32. Greedy answers are the same token for token, except where "
            "two candidate tokens are nearly tied: there the rounding can make this script write the other one, "
            "and the rest of the answer differs from that point on (rare)."
        ),
        "rp_remote": (
            "The app's answer came from a {server} server. This script runs the model here: greedy answers agree "
            "except where two tokens are nearly tied, and a seed replays a sampled answer only on the backend that "
            "drew it."
        ),
        "rp_step_adapter": "The LoRA adapter {name}",
        "rp_adapter_folder": (
            "Its weights are the folder {path} of the playground's repository: run the script from the repository's "
            "folder, or write the folder's path here."
        ),
        "rp_adapter_hub": "Its weights are the Hub repository {repo} at commit {revision}, as the app's registry pins.",
        "rp_step_prompt": "The prompt",
        "rp_prompt_fewshot": (
            "The GPT-3 paper's format: the task on the first line, one line per worked example (input, separator, "
            "output), then the query and the separator; the model writes what follows."
        ),
        "rp_shots_zero": "Zero-shot: no example, only the task and the query.",
        "rp_shots_one": "One-shot: the first example only.",
        "rp_shots_few": "Few-shot: all {count} examples.",
        "rp_prompt_plain": (
            "The text as typed: the model continues it. Typed text is tokenized as text "
            "(split_special_tokens=True), as in the app."
        ),
        "rp_prompt_alpaca": (
            "The Alpaca template the adapter was trained with, around the instruction (and its input): both "
            "models get this same prompt, so what differs is what LoRA taught the base."
        ),
        "rp_prompt_chat": (
            "The model's chat template: one user turn, then the assistant's turn begins, where the model answers."
        ),
        "rp_step_settings": "The settings",
        "rp_settings_greedy": "Greedy decoding: no randomness, so no seed; a prompt always gets the same answer.",
        "rp_settings_seed": (
            "Sampling with seed {seed}: the seed fixes the random draws, so it replays the app's answer on the same "
            "kind of machine and software (a batched GPU run or a remote server draws differently)."
        ),
        "rp_settings_no_seed": (
            "Sampling with a fresh seed the app drew (its status line shows it): write it as the seed to replay "
            "that answer; any other seed gives another answer."
        ),
        "rp_set_max_new_tokens": "- `max_new_tokens = {value}`: the answer has at most {value} new tokens.",
        "rp_set_do_sample": (
            "- `do_sample = {value}`: False is greedy (the most likely token each time); True draws each token "
            "from the distribution the settings below shape."
        ),
        "rp_set_temperature": "- `temperature = {value}`: below 1 sharpens the distribution, above 1 flattens it.",
        "rp_set_top_k": "- `top_k = {value}`: draw among the {value} most likely tokens only (0: all of them).",
        "rp_set_top_p": (
            "- `top_p = {value}`: draw among the most likely tokens whose probabilities add up to {value} (1: all)."
        ),
        "rp_set_repetition_penalty": (
            "- `repetition_penalty = {value}`: above 1, tokens already in the text become less likely."
        ),
        "rp_set_no_repeat_ngram_size": "- `no_repeat_ngram_size = {value}`: never write the same {value} tokens twice.",
        "rp_set_stop_strings": (
            "- `stop_strings = {value}`: the answer ends where one of them appears; it is not part of the answer."
        ),
        "rp_step_generate": "Generate",
        "rp_generate_one": "The answer, as the app showed it.",
        "rp_generate_pair": (
            "The base model alone (the adapter switched off), then with the adapter: the same prompt, settings "
            "and seed, as the app's two panes."
        ),
        "rp_step_text": "The text and the scores",
        "rp_score_text": (
            "The text is cut into windows of {window} tokens (at most {windows}); in each window the model predicts "
            "every token from the ones before. Perplexity is exp of the mean negative log-likelihood (lower is "
            "better); next-token accuracy is the share of tokens that were the model's first choice."
        ),
        "rp_step_candidate": "{name}, scored",
        # the classroom (playground/classroom/)
        "room_storage_full": (
            "the classroom's database is full (no space left): nothing new can be kept; what was sent before is safe"
        ),
        "room_storage_busy": "the classroom's database is busy; try again in a moment (nothing was lost)",
        "room_storage_unavailable": (
            "the classroom's database cannot be reached; try again in a moment (nothing was lost)"
        ),
        "room_storage_newer": (
            "the classroom's database is at schema version {version}, newer than this app's ({latest}): "
            "run a newer app, or point it at another database"
        ),
        "room_bad_code": "{field}: {value!r} is not a room code ({chars} letters and digits, like ABCD-EFGH)",
        "room_denied": (
            "no open room with this code and key: check the code; a room closes {hours} hours after it opens, "
            "or when its teacher closes it"
        ),
        "room_too_many_tries": "too many wrong codes or keys ({limit}): wait {minutes} minutes and try again",
        "room_server_full": "this server has as many open classrooms as it can hold; try again later",
        "room_too_many_rooms": "you already have {limit} open classrooms: close one first",
        "room_name_taken": "{field}: {value!r} is already someone's name in this room; choose another",
        "room_full_members": "this room is full ({limit} students)",
        "room_bad_kind": "{field}: {value!r} is not one of {choices}",
        "room_bad_link": "{field}: {reason}",
        "room_link_tab": "{field}: a link of the {tab!r} tab, not of {kind!r}",
        "room_bad_answers": "{field}: must be a mapping of {names} to text",
        "room_nothing_to_post": "{field}: every answer is empty: run it first, then send it",
        "room_post_rate": "sending too fast: at most {limit} runs a minute; wait a moment",
        "room_post_cap": "you have sent {limit} runs to this room, as many as it takes from one student",
        "room_full_posts": (
            "this room holds as many runs as it can ({runs} runs, {bytes} bytes): the teacher may clear it"
        ),
        "room_not_joined": "join a classroom first (Classroom tab), then send your runs to it",
        "room_page_left": "this page is in no classroom now: reload it to find your room again",
        "room_vote_already_open": "a vote is already open in this room: close it first",
        "room_no_open_vote": "no vote is open in this room",
        "room_vote_not_open": "{field}: this vote is closed (or another one is open now)",
        "room_already_voted": "you have already voted on this question",
        "room_bad_choice": "{field}: {value!r} is not A, B or tie",
        "room_curve_points": "{field}: must be a list of points, each with shots, mean, low and high (and runs)",
        "room_curve_empty": "{field}: the curve has no point: draw it first, then send it",
        "room_curve_too_many": "{field}: at most {limit} points, got {count}",
        "room_curve_shots_twice": "{field}: a second point at k = {value}",
        "room_curve_spread": "{field}: needs low <= mean <= high, got {low:g}, {mean:g}, {high:g}",
    },
    "fr": {
        "not_a_number": "{field} : doit être un nombre, reçu {type} {value!r}",
        "not_finite": "{field} : doit être un nombre fini, reçu {value!r}",
        "out_of_range": "{field} : {value} est hors de l'intervalle {range}",
        "not_an_integer": "{field} : doit être un entier, reçu {type} {value!r}",
        "not_a_string": "{field} : doit être une chaîne de caractères, reçu {type}",
        "not_a_boolean": "{field} : doit valoir true ou false, reçu {value!r}",
        "bad_unicode": "{field} : Unicode invalide (un demi-caractère isolé) au caractère {position}",
        "not_a_mapping": "{field} : un dictionnaire est attendu, reçu {type}",
        "not_a_list": "{field} : doit être une liste de chaînes, reçu {type}",
        "unknown_setting": "{field} : réglage inconnu (connus : {known})",
        "too_many_stops": "{field} : au plus {limit} chaînes d'arrêt, reçu {count}",
        "empty": "{field} : ne doit pas être vide",
        "too_long_chars": "{field} : au plus {limit} caractères, reçu {count}",
        "prompt_too_long": "{field} : {count} caractères, plus que la limite de {limit}",
        "no_tokens": "{field} : ne donne aucun token",
        "text_too_short": "{field} : il faut au moins deux tokens pour évaluer la prédiction du token suivant",
        "prompt_input_needs_style": "{field} : ne sert qu'avec le gabarit de prompt du modèle",
        "no_room": (
            "{field} : {value} ne laisse pas de place pour un prompt dans le contexte de {context} tokens de {model}"
        ),
        "seed_not_integer": "{field} : doit être un entier ou rester vide, reçu {value!r}",
        "example_half": "{field} : il faut une entrée et une sortie",
        "not_rows": "{field} : doit être une liste de lignes [entrée, sortie] de texte, reçu {type}",
        "not_one_of": "{field} : {value!r} n'est pas parmi {choices}",
        "not_whole_numbers": "{field} : doit être une liste de nombres entiers, reçu {type}",
        "shots_over_pool": "{field} : {value} exemples demandés, mais la réserve n'en a que {count}",
        "rows_too_long": "{field} : {count} caractères en tout, plus que la limite de {limit}",
        "too_few_labels": (
            "{field} : une classification demande au moins deux sorties différentes (ses étiquettes), reçu {count}"
        ),
        "too_many_labels": "{field} : au plus {limit} sorties différentes (étiquettes), reçu {count}",
        "not_a_label": "{field} : {value!r} n'est pas une des étiquettes de la réserve ({labels})",
        "calibration_needs_labels": "{field} : la calibration demande une classification (métrique 'accuracy')",
        "random_labels_need_pool": (
            "{field} : les étiquettes au hasard demandent au moins deux exemples dans la réserve"
        ),
        "curve_too_much": (
            "{field} : cette courbe demande {count} réponses, plus que la limite de {limit} ; "
            "demandez moins de nombres d'exemples, d'ordres, de tests ou de modèles"
        ),
        "curve_too_long": (
            "{field} : les prompts de cette courbe font {count} caractères, plus que la limite de {limit} ; "
            "demandez des exemples moins nombreux ou plus courts, moins d'ordres ou de tests"
        ),
        "curve_truncated": ("Des prompts dépassaient le contexte de {model} : leurs premiers tokens ont été retirés."),
        "not_a_token_list": "{field} : doit être une liste d'identifiants de tokens, reçu {type}",
        "too_many_token_ids": "{field} : au plus {limit} identifiants de tokens (max_new_tokens), reçu {count}",
        "not_a_token": "{field} : {value!r} n'est pas un identifiant de token de {model} (0 à {last})",
        "too_many_rows": "{field} : au plus {limit} lignes, reçu {count}",
        "too_many_tokens": "{field} : au plus {limit} tokens, reçu {count}",
        "lab_too_long": (
            "{field} : la tâche, les exemples et la requête font ensemble {count} caractères, "
            "plus que la limite de {limit}"
        ),
        "inspect_truncated": (
            "Le prompt faisait {total} tokens ; seuls ses {kept} derniers sont examinés "
            "(le contexte de {model} est de {context} tokens)."
        ),
        "unknown_model": "{field} : modèle inconnu {name!r} (connus : {known})",
        "model_not_at_hand": (
            "{field} : aucune source ne peut fournir {name!r} ici pour l'instant (disponibles : {known})"
        ),
        "unknown_adapter": "{field} : adaptateur inconnu {name!r} (connus : {known})",
        "adapter_other_base": "{field} : {name!r} appartient au modèle {base!r}, pas à {model!r}",
        "adapter_not_attached": "{field} : {name!r} n'est pas attaché au modèle {model!r}",
        "adapter_refused": "l'adaptateur {name!r} n'a pas pu être chargé : {reason}",
        "adapter_dora_int8": (
            "l'adaptateur {name!r} utilise DoRA, qui demande des poids flottants ; ce modèle sert des poids int8"
        ),
        "model_load_failed": "{model} : aucune source n'a pu le charger ; {reasons}",
        "busy": ("occupé : {waiting} requêtes attendent déjà {model} ; réessayez dans quelques secondes"),
        "busy_visitor": (
            "occupé : vous avez déjà {count} requêtes en attente ou en cours ; réessayez quand l'une sera finie"
        ),
        "unheard": (
            "abandonnée sans être lancée : aucun client n'a écouté ses résultats dans les {seconds} s ; renvoyez-la"
        ),
        "generation_failed": "la génération a échoué après {count} tokens : {reason}",
        "batch_failed": "le lot a échoué : {reason}",
        "job_cancelled": "arrêté avant la fin",
        "prompt_truncated": (
            "Le prompt faisait {total} tokens ; les {dropped} premiers ont été retirés pour tenir "
            "dans le contexte de {context} tokens de {model} avec {new} nouveaux tokens."
        ),
        "time_limit": "Arrêté après {seconds:g} s, la limite de temps d'une requête.",
        "uploads_refused": "cette application ne prend aucun fichier : les envois sont refusés",
        "deep_links_here": (
            "pas de liens enregistrés : les liens de cette application portent leurs réglages dans l'URL "
            "(Partager cette configuration)"
        ),
        "queue_only": (
            "cette application ne répond que par sa file d'attente (/gradio_api/queue/join ou /gradio_api/call/...)"
        ),
        "bad_identifier": "{field} : doit faire de 1 à 64 lettres, chiffres, '-' ou '_'",
        "unknown_event": "{field} : pas un événement de cette application",
        "body_too_large": "la requête dépasse {limit} octets",
        "progress_loading": "Chargement de {model} depuis {source}",
        "progress_dequantize": "Décompression de {file} (premier démarrage seulement)",
        "progress_adapters": "{count} adaptateur(s) attaché(s) à {model}",
        "source_local": "dossier local",
        "source_hub": "Hub",
        "source_bundled": "fichier embarqué",
        "from_local": "dossier local {folder}",
        "from_hub": "Hub {repo}@{revision}",
        "from_hub_cache": "Hub {repo}@{revision} (cache hors ligne)",
        "from_bundled_cache": "embarqué dans {package} {version} ({file}), poids décompressés depuis le cache",
        "from_bundled_now": "embarqué dans {package} {version} ({file}), poids décompressés à l'instant",
        "from_bundled_int8_cache": "embarqué dans {package} {version} ({file}), ses poids int8 depuis le cache",
        "from_bundled_int8_now": "embarqué dans {package} {version} ({file}), ses poids int8 lus à l'instant",
        "int8_rounded": "{source}, arrondi en int8",
        "progress_int8": "Lecture des poids int8 de {file} (premier démarrage seulement)",
        "from_remote": "serveur {dialect} {url} ({served})",
        "remote_unreachable": "{model} : son serveur {url} est injoignable : {reason}",
        "remote_unknown_adapter": "{model} : son serveur {url} ne sert pas l'adaptateur {name!r} ({reason})",
        "remote_adapter_not_served": (
            "{field} : {name!r} n'est pas servi par le serveur {url} de {model} (il sert : {known})"
        ),
        "remote_busy": "occupé : le serveur de {model} ({url}) est plein ; réessayez dans quelques secondes",
        "remote_failed": "{model} : son serveur {url} a répondu {status} : {reason}",
        "remote_timeout": "{model} : son serveur {url} n'a pas répondu en {seconds:g} s",
        "no_next_tokens": "{model} : son serveur ({source}) ne donne pas la distribution du token suivant",
        "no_record_tokens": (
            "{model} : son serveur ({source}) n'envoie pas les probabilités des tokens : pas d'explorateur de tokens"
        ),
        "no_branching": (
            "{model} : son serveur ({source}) ne sait pas bifurquer une réponse (écrire un token choisi, puis "
            "continuer avec la même graine) ; le modèle local le peut"
        ),
        "no_scoring": (
            "{model} : son serveur ({source}) ne sait pas évaluer un texte (pas de log-probabilités du prompt)"
        ),
        "setting_ignored": "{field} n'est pas pris en charge par {source} ; ce réglage a été ignoré.",
        "adjusted_from_candidates": (
            "Les probabilités ajustées (du tirage) sont une estimation, calculée sur les {count} tokens les plus "
            "probables selon le serveur, pas sur tout le vocabulaire."
        ),
        "link_ignored": "{reason} ; ignoré",
        "link_not_one_of": "{field} : {value!r} n'est pas parmi {choices}",
        "link_unknown_model": "{field} : modèle inconnu {value!r}",
        "link_unknown_preset": "{field} : exemple prêt à l'emploi inconnu {value!r}",
        "link_unknown_adapter": "{field} : adaptateur inconnu {value!r}",
        "link_unknown_parameter": "{field} : paramètre inconnu",
        "link_adapter_other_base": "{field} : {value!r} appartient à {base!r}, pas à {model!r}",
        "link_bad_examples": (
            "{field} : une liste d'au plus {limit} paires [entrée, sortie], chacune d'au plus {chars} caractères"
        ),
        "link_bad_json": "{field} : {value!r} n'est pas du JSON valide",
        "link_branch_pair": "{field} : manquant (une bifurcation demande branch_position et branch_token)",
        "link_unknown_parameters": "{count} paramètres inconnus ({field}, ...)",
        "link_too_long": "{field} : le lien ferait {count} caractères, plus que la limite de {limit}",
        "link_too_deep": "{field} : imbriqué sur plus de {limit} niveaux",
        "reproduce_no_setup": "{field} : ne contient aucune configuration (un lien de partage finit par ?tab=...&...)",
        "reproduce_bad_link": "{field} : {reason}",
        "reproduce_no_tab": "{field} : ne nomme aucun onglet (tab= parmi {tabs})",
        "reproduce_no_adapter": "{field} : le registre n'a pas d'adaptateur pour l'onglet {tab}",
        "reproduce_no_code": "{field} : l'onglet {tab} ne fait tourner aucun modèle à reproduire (un lien de {tabs})",
        "rp_intro": (
            "Écrit par le playground à partir d'un lien de partage : transformers et torch, sans le playground. Il "
            "charge le modèle de l'application, construit exactement le même prompt et génère avec les mêmes réglages."
        ),
        "rp_intro_compare": (
            "Écrit par le playground à partir d'un lien de partage : transformers et torch, sans le playground. Il "
            "charge les modèles que l'application a comparés et les évalue sur le même texte, dans les mêmes fenêtres."
        ),
        "rp_run": "Lancez-le avec : python {file}",
        "rp_needs": "Il lui faut : {install}",
        "rp_title_lab": "La réponse {pane} du labo de prompts, avec {model}",
        "rp_pane_zero": "zero-shot (sans exemple)",
        "rp_pane_one": "one-shot (un exemple)",
        "rp_pane_few": "few-shot (quelques exemples)",
        "rp_title_style": "George Sand : {model} et {model}{adapter} continuent le même début de texte",
        "rp_title_instructions": "Instructions : {model} et {model}{adapter} répondent au même prompt",
        "rp_title_generate": "Générer : {model}{adapter} répond à un prompt",
        "rp_title_compare": "Comparer : perplexité et exactitude du token suivant de {first} et {second} sur un texte",
        "rp_step_model": "Le modèle",
        "rp_model_hub": (
            "{label} : le dépôt {repo} du Hub au commit {revision}, celui qu'épingle le registre de l'application."
        ),
        "rp_model_local": (
            "{label} : un dossier de la machine de l'application (copiez-le, ou chargez le même modèle depuis le Hub)."
        ),
        "rp_model_bundled": (
            "{label} ({repo}) : l'application l'a servi hors ligne depuis le fichier GGUF embarqué dans le paquet "
            "{package}. transformers lit ce fichier et convertit ses poids quantifiés en float32."
        ),
        "rp_model_bundled_hub": 'Avec accès au Hub, le même modèle se charge aussi par from_pretrained("{repo}").',
        "rp_int8": (
            "L'application calcule avec les valeurs int8 du fichier (chaque groupe de 32 entrées arrondi sur 16 "
            "bits) ; ce script calcule les mêmes poids en float32. Les réponses gloutonnes sont identiques token "
            "pour token, sauf là où deux tokens candidats sont presque à égalité : l'arrondi peut alors faire "
            "écrire l'autre à ce script, et la suite de la réponse diffère à partir de là (c'est rare)."
        ),
        "rp_remote": (
            "La réponse de l'application venait d'un serveur {server}. Ce script fait tourner le modèle ici : les "
            "réponses gloutonnes concordent sauf quasi-égalité entre deux tokens, et une graine ne rejoue une réponse "
            "échantillonnée que sur le système qui l'a tirée."
        ),
        "rp_step_adapter": "L'adaptateur LoRA {name}",
        "rp_adapter_folder": (
            "Ses poids sont le dossier {path} du dépôt du playground : lancez le script depuis le dossier du dépôt, "
            "ou écrivez ici le chemin du dossier."
        ),
        "rp_adapter_hub": (
            "Ses poids sont le dépôt {repo} du Hub au commit {revision}, comme l'épingle le registre de l'application."
        ),
        "rp_step_prompt": "Le prompt",
        "rp_prompt_fewshot": (
            "Le format de l'article GPT-3 : la tâche sur la première ligne, une ligne par exemple (entrée, "
            "séparateur, sortie), puis la requête et le séparateur ; le modèle écrit la suite."
        ),
        "rp_shots_zero": "Zero-shot : aucun exemple, seulement la tâche et la requête.",
        "rp_shots_one": "One-shot : le premier exemple seulement.",
        "rp_shots_few": "Few-shot : les {count} exemples.",
        "rp_prompt_plain": (
            "Le texte tel que tapé : le modèle le continue. Le texte tapé est découpé comme du texte "
            "(split_special_tokens=True), comme dans l'application."
        ),
        "rp_prompt_alpaca": (
            "Le gabarit Alpaca avec lequel l'adaptateur a été entraîné, autour de l'instruction (et de son entrée) : "
            "les deux modèles reçoivent ce même prompt, ce qui diffère est ce que LoRA a appris au modèle de base."
        ),
        "rp_prompt_chat": (
            "Le gabarit de conversation du modèle : un tour de l'utilisateur, puis le tour de l'assistant commence, "
            "où le modèle répond."
        ),
        "rp_step_settings": "Les réglages",
        "rp_settings_greedy": (
            "Décodage glouton : aucun hasard, donc pas de graine ; le même prompt reçoit toujours la même réponse."
        ),
        "rp_settings_seed": (
            "Échantillonnage avec la graine {seed} : la graine fixe les tirages, elle rejoue donc la réponse de "
            "l'application sur le même genre de machine et de logiciels (un lot sur GPU ou un serveur distant tire "
            "autrement)."
        ),
        "rp_settings_no_seed": (
            "Échantillonnage avec une graine neuve tirée par l'application (sa ligne d'état la montre) : écrivez-la "
            "comme graine pour rejouer cette réponse ; toute autre graine donne une autre réponse."
        ),
        "rp_set_max_new_tokens": "- `max_new_tokens = {value}` : la réponse a au plus {value} nouveaux tokens.",
        "rp_set_do_sample": (
            "- `do_sample = {value}` : False est le décodage glouton (le token le plus probable à chaque fois) ; "
            "True tire chaque token dans la distribution que façonnent les réglages suivants."
        ),
        "rp_set_temperature": (
            "- `temperature = {value}` : en dessous de 1 la distribution se resserre, au-dessus elle s'aplatit."
        ),
        "rp_set_top_k": "- `top_k = {value}` : tirer parmi les {value} tokens les plus probables seulement (0 : tous).",
        "rp_set_top_p": (
            "- `top_p = {value}` : tirer parmi les tokens les plus probables dont les probabilités totalisent {value} "
            "(1 : tous)."
        ),
        "rp_set_repetition_penalty": (
            "- `repetition_penalty = {value}` : au-dessus de 1, les tokens déjà présents deviennent moins probables."
        ),
        "rp_set_no_repeat_ngram_size": (
            "- `no_repeat_ngram_size = {value}` : ne jamais écrire deux fois les mêmes {value} tokens à la suite."
        ),
        "rp_set_stop_strings": (
            "- `stop_strings = {value}` : la réponse s'arrête là où l'une d'elles apparaît ; elle n'en fait pas partie."
        ),
        "rp_step_generate": "Générer",
        "rp_generate_one": "La réponse, telle que l'application l'a montrée.",
        "rp_generate_pair": (
            "Le modèle de base seul (adaptateur désactivé), puis avec l'adaptateur : même prompt, mêmes réglages et "
            "même graine, comme les deux volets de l'application."
        ),
        "rp_step_text": "Le texte et les scores",
        "rp_score_text": (
            "Le texte est découpé en fenêtres de {window} tokens (au plus {windows}) ; dans chaque fenêtre le modèle "
            "prédit chaque token à partir des précédents. La perplexité est l'exponentielle de la log-vraisemblance "
            "négative moyenne (plus bas = mieux) ; l'exactitude du token suivant est la part des tokens qui étaient "
            "le premier choix du modèle."
        ),
        "rp_step_candidate": "{name}, évalué",
        "room_storage_full": (
            "la base de données de la classe est pleine (plus de place) : rien de nouveau ne peut être gardé ; "
            "ce qui a été envoyé avant est en sécurité"
        ),
        "room_storage_busy": (
            "la base de données de la classe est occupée ; réessayez dans un instant (rien n'est perdu)"
        ),
        "room_storage_unavailable": (
            "la base de données de la classe est injoignable ; réessayez dans un instant (rien n'est perdu)"
        ),
        "room_storage_newer": (
            "la base de données de la classe est au schéma version {version}, plus récent que celui de cette "
            "application ({latest}) : lancez une application plus récente, ou une autre base"
        ),
        "room_bad_code": (
            "{field} : {value!r} n'est pas un code de salle ({chars} lettres et chiffres, comme ABCD-EFGH)"
        ),
        "room_denied": (
            "aucune salle ouverte avec ce code et cette clé : vérifiez le code ; une salle ferme {hours} heures "
            "après son ouverture, ou quand l'enseignant la ferme"
        ),
        "room_too_many_tries": (
            "trop de codes ou de clés erronés ({limit}) : attendez {minutes} minutes avant de réessayer"
        ),
        "room_server_full": "ce serveur a autant de classes ouvertes qu'il peut en tenir ; réessayez plus tard",
        "room_too_many_rooms": "vous avez déjà {limit} classes ouvertes : fermez-en une d'abord",
        "room_name_taken": "{field} : {value!r} est déjà le nom de quelqu'un dans cette salle ; choisissez-en un autre",
        "room_full_members": "cette salle est pleine ({limit} élèves)",
        "room_bad_kind": "{field} : {value!r} n'est pas parmi {choices}",
        "room_bad_link": "{field} : {reason}",
        "room_link_tab": "{field} : un lien de l'onglet {tab!r}, pas de {kind!r}",
        "room_bad_answers": "{field} : doit associer du texte à {names}",
        "room_nothing_to_post": "{field} : toutes les réponses sont vides : lancez-le d'abord, puis envoyez-le",
        "room_post_rate": "envois trop rapides : au plus {limit} par minute ; attendez un instant",
        "room_post_cap": "vous avez envoyé {limit} essais à cette salle, autant qu'elle en prend d'un élève",
        "room_full_posts": (
            "cette salle contient autant d'essais qu'elle peut ({runs} essais, {bytes} octets) : "
            "l'enseignant peut la vider"
        ),
        "room_not_joined": "rejoignez d'abord une classe (onglet Classe), puis envoyez-y vos essais",
        "room_page_left": "cette page n'est plus dans une classe : rechargez-la pour retrouver votre salle",
        "room_vote_already_open": "un vote est déjà ouvert dans cette salle : fermez-le d'abord",
        "room_no_open_vote": "aucun vote n'est ouvert dans cette salle",
        "room_vote_not_open": "{field} : ce vote est fermé (ou un autre est ouvert maintenant)",
        "room_already_voted": "vous avez déjà voté sur cette question",
        "room_bad_choice": "{field} : {value!r} n'est ni A, ni B, ni égalité (tie)",
        "room_curve_points": (
            "{field} : doit être une liste de points, chacun avec shots, mean, low et high (et runs)"
        ),
        "room_curve_empty": "{field} : la courbe n'a aucun point : tracez-la d'abord, puis envoyez-la",
        "room_curve_too_many": "{field} : au plus {limit} points, reçu {count}",
        "room_curve_shots_twice": "{field} : un second point à k = {value}",
        "room_curve_spread": "{field} : il faut low <= mean <= high, reçu {low:g}, {mean:g}, {high:g}",
    },
}


def render(key: str, lang: str, params: dict[str, Any]) -> str:
    """The text of message ``key`` in ``lang`` (English when the language is unknown)."""
    table = CATALOG.get(lang, CATALOG["en"])
    template = table.get(key) or CATALOG["en"][key]
    values = {
        k: v.localized(lang) if isinstance(v, Message) else excerpt(v) if k in QUOTED else v for k, v in params.items()
    }
    return template.format(**values)


EXCERPT_CHARS = 60  # characters of a quoted value shown in a message
QUOTED = ("value", "name", "field")  # parameters that quote what a visitor sent


def excerpt(value: Any) -> Any:
    """``value`` as it is when short, else the start of its text and how many characters were left out.

    Messages quote what a visitor sent (a link parameter, a model name); a 30,000-character
    value must not make a 30,000-character warning.
    """
    if isinstance(value, (int, float, bool)) or value is None:
        return value
    text = value if isinstance(value, str) else repr(value)
    if len(text) <= EXCERPT_CHARS:
        return value
    return f"{text[:EXCERPT_CHARS]}…(+{len(text) - EXCERPT_CHARS})"


class Message(str):
    """A message in English (its ``str`` value) that can be rendered in other languages."""

    key: str
    params: dict[str, Any]

    def __new__(cls, key: str, **params: Any) -> Message:
        """Build message ``key`` with its parameters; raises KeyError for an unknown key."""
        obj = super().__new__(cls, render(key, "en", params))
        obj.key = key
        obj.params = params
        return obj

    def localized(self, lang: str) -> str:
        """This message in ``lang``."""
        return render(self.key, lang, self.params)

    def __reduce__(self) -> tuple[Any, ...]:  # keeps key and params through pickling
        return (_rebuild, (self.key, self.params))


def _rebuild(key: str, params: dict[str, Any]) -> Message:
    return Message(key, **params)


def localize(message: object, lang: str) -> str:
    """An exception's or a message's text in ``lang``; plain text is returned as it is."""
    if isinstance(message, BaseException):
        first = message.args[0] if len(message.args) == 1 else None
        return first.localized(lang) if isinstance(first, Message) else str(message)
    if isinstance(message, Message):
        return message.localized(lang)
    return str(message)
