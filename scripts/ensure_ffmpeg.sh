#!/usr/bin/env bash
# Installs the ffmpeg and ffprobe programs where they are missing (video decoding runs them as
# child processes). Debian/Ubuntu: `apt-get update` once, then `apt-get install -y ffmpeg`.
# Without root or apt-get it only says so: video tests then skip with a notice, and the library
# returns VideoError::ToolMissing at run time.
if command -v ffmpeg >/dev/null 2>&1 && command -v ffprobe >/dev/null 2>&1; then
  exit 0
fi
if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = "0" ]; then
  echo "== installing ffmpeg (video decoding)"
  export DEBIAN_FRONTEND=noninteractive
  if apt-get update -qq && apt-get install -y -qq ffmpeg >/dev/null; then
    exit 0
  fi
  echo "warning: apt-get could not install ffmpeg; video tests will skip" >&2
else
  echo "warning: ffmpeg is not installed and cannot be installed here (needs root and apt-get);" \
       "video tests will skip" >&2
fi
exit 0
