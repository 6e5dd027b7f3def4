#!/bin/sh
# Applies migrations, loads the sample plan into an empty database, then
# becomes duban (exec), so that signals reach it directly.
set -e
if [ "$1" = "serve" ]; then
  duban migrate
  duban import --if-empty /srv/duban/seed/plan-2018.txt >/dev/null
fi
exec duban "$@"
