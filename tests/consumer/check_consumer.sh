#!/usr/bin/env bash
# Installs the built project into a scratch prefix, then uses it as users would: the consumer
# example through find_package(attnbench), the same main.cpp through pkg-config, and the
# installed Python module.  Usage: check_consumer.sh BUILD_DIR [CMAKE] [CXX]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "$1" && pwd)
cmake=${2:-cmake}
cxx=${3:-c++}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
prefix=$work/prefix

"$cmake" --install "$build" --prefix "$prefix" >/dev/null
# Self-contained: nothing installed may point back into the source or build tree.
if grep -rlI -e "$build" -e "$(cd "$here/../.." && pwd)/" "$prefix/include" "$prefix"/lib*/cmake "$prefix"/lib*/pkgconfig; then
  echo "check_consumer: the installed files above name the build or source tree" >&2
  exit 1
fi

echo "== find_package(attnbench)"
"$cmake" -S "$here" -B "$work/consumer" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_COMPILER="$cxx" \
  -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
"$cmake" --build "$work/consumer" >/dev/null
"$work/consumer/consumer"

echo "== pkg-config attnbench"
pc_dir=$(dirname "$(find "$prefix" -name attnbench.pc | head -1)")
flags=$(PKG_CONFIG_PATH=$pc_dir pkg-config --cflags --libs attnbench)
# shellcheck disable=SC2086  # pkg-config's output is a list of flags
"$cxx" -std=c++17 -O1 "$here/main.cpp" -o "$work/consumer_pc" $flags
"$work/consumer_pc"

echo "== installed Python module"
py_dir=$(dirname "$(find "$prefix" -name 'attnbench*.so' | head -1)")
PYTHONPATH=$py_dir /usr/bin/python3 -c "
import attnbench, numpy as np
assert attnbench.__file__.startswith('$prefix'), attnbench.__file__
q = np.ones((3, 4), np.float32)
assert np.allclose(attnbench.attention(q, q, q), 1)
print('python: ok,', attnbench.__file__)
"
