"""Checks that each layer under app/ includes only the layers below it (STYLE.md §1).

Run by ctest as `layering`; exits non-zero listing every offending include.
"""
import os
import re
import sys

ALLOWED = {
    "config": {"config"},
    "domain": {"domain", "config"},
    "infrastructure": {"infrastructure", "domain", "config"},
    "repositories": {"repositories", "infrastructure", "domain", "config"},
    "api": {"api", "repositories", "domain", "config"},
    "sockets": {"sockets", "repositories", "domain", "config"},
    # nexuctl's commands, like main, wire layers together but never serve requests.
    "ctl": {"ctl", "repositories", "infrastructure", "domain", "config"},
}
# Beast belongs to the edges; Asio also to infrastructure (the Redis client runs on it).
BEAST_ALLOWED = {"api", "sockets", "asio"}
ASIO_ALLOWED = BEAST_ALLOWED | {"infrastructure"}
INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]', re.M)


def main(app_dir):
    problems = []
    for layer in sorted(os.listdir(app_dir)):
        layer_dir = os.path.join(app_dir, layer)
        if not os.path.isdir(layer_dir):
            continue
        for folder, _, files in os.walk(layer_dir):
            for name in files:
                if not name.endswith((".hpp", ".cpp", ".in")):
                    continue
                path = os.path.join(folder, name)
                text = open(path, encoding="utf-8").read()
                for kind, target in INCLUDE.findall(text):
                    first = target.split("/")[0]
                    where = os.path.relpath(path, os.path.dirname(app_dir))
                    if kind == '"' and layer in ALLOWED and first in ALLOWED:
                        if first not in ALLOWED[layer]:
                            problems.append(f"{where}: {layer} must not include {target}")
                    if target.startswith("boost/beast") and layer not in BEAST_ALLOWED:
                        problems.append(f"{where}: Beast belongs to api/sockets: {target}")
                    if target.startswith("boost/asio") and layer not in ASIO_ALLOWED:
                        problems.append(f"{where}: Asio is not for {layer}: {target}")
    for problem in problems:
        print(problem)
    print(f"layering: {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else
                  os.path.join(os.path.dirname(__file__), "..", "app")))
