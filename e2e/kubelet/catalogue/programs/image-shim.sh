#!/bin/sh
# A shell image's filesystem as the box fakes it: runs the container's command with the host's Debian binaries.
# Usage: image-shim.sh [--default PROG] COMMAND [ARG...]
#   --default PROG  curlimages/curl's entrypoint.sh rule: no command, an option first (`-s …`) or a first word that
#                   is no command runs PROG with all the arguments.
# `sleep N|Ns|Nm|Nh|Nd|infinity` and `/bin/sleep` are coreutils sleep, which takes every form busybox's does; any
# other command, absolute or not, is the binary of that name in /usr/local/sbin … /bin, exec'd so that it keeps
# this process id (signals, exit status and `kubectl exec` behave as in the image).
if [ "$1" = "--default" ]; then
  default=$2
  shift 2
  if [ $# -eq 0 ] || [ "${1#-}" != "$1" ] || ! command -v "$1" >/dev/null 2>&1; then
    set -- "$default" "$@"
  fi
fi
if [ $# -eq 0 ]; then
  echo "image-shim: no command given" >&2
  exit 127
fi
prog=$1
shift
name=${prog##*/}
case "$name" in
  sleep) exec /usr/bin/sleep "$@" ;;
esac
case "$prog" in
  */*) [ -x "$prog" ] && [ ! -d "$prog" ] && exec "$prog" "$@" ;;
esac
for dir in /usr/local/sbin /usr/local/bin /usr/sbin /usr/bin /sbin /bin; do
  if [ -x "$dir/$name" ] && [ ! -d "$dir/$name" ]; then
    exec "$dir/$name" "$@"
  fi
done
echo "image-shim: $prog: not found (the box runs the host's Debian binaries)" >&2
exit 127
