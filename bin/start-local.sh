#!/bin/sh
# `npm start`: runs bin/start-local.mjs in a node process started with the two settings that
# take effect only when a process starts (issue 18; bench/README.md, design.md 12.22):
# - MALLOC_ARENA_MAX=2: glibc gives each thread that allocates (V8's compiler and collector
#   helpers, libuv's pool) an arena of its own and keeps what was freed there; capped at two,
#   local mode's peak RSS under a burst fell by 24-39 MiB. glibc reads it once, at start;
#   other C libraries ignore it. Set it yourself to override.
# - --single-threaded-gc: V8 collects on the main thread, without helper threads competing
#   with the relay and its SMTP peers for the cores. Node refuses it in NODE_OPTIONS, and set
#   from inside a running process it crashed node at its first collection.
# exec: the shell becomes node, so the pid a supervisor or a test holds, signals or kills is
# local mode's own. SHADOWMAIL_NODE_ARGS: more options for node (the bench's --cpu-prof),
# split at spaces; arguments after the script go to local mode (`npm start -- --help`).
set -f
MALLOC_ARENA_MAX="${MALLOC_ARENA_MAX:-2}"
export MALLOC_ARENA_MAX
# shellcheck disable=SC2086 # SHADOWMAIL_NODE_ARGS is split at spaces on purpose
exec node --single-threaded-gc $SHADOWMAIL_NODE_ARGS "$(dirname -- "$0")/start-local.mjs" "$@"
