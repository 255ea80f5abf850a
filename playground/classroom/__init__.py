"""The classroom: rooms a teacher opens, runs the students post, the teacher's board, blind votes.

Gradio-free. A teacher opens a room (:mod:`~playground.classroom.rooms`) and gets a short
code for the board and a private teacher key; students join with the code and a name
they choose; each run a student sends (a lab run, a George Sand or Instructions answer:
the setup as its share link carries it, and the answers; :mod:`~playground.classroom.posts`)
and each shot curve (:mod:`~playground.classroom.curves`) lands on the teacher's board
(:mod:`~playground.classroom.board`), with counts per lesson against the references of
:mod:`~playground.classroom.references` and the class's curves pooled per lesson; the teacher runs blind
A/B votes (:mod:`~playground.classroom.votes`). Everything is kept in one database
(:mod:`~playground.classroom.storage`: SQLite by default, PostgreSQL by URL; the tables and
their migrations in :mod:`~playground.classroom.schema`), and every bound is one field of
:class:`~playground.classroom.limits.ClassroomLimits`.
"""
