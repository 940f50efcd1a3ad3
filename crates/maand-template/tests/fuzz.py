"""Random template generator for differential runs against Go.

Writes N random templates (typed expression grammar over the spec 05 §9 fixture,
control flow, trims, comments, defines) to a directory; then render them with Go
and compare with maand-template:

    python3 tests/fuzz.py <seed> <count> /tmp/fuzz
    (cd tests/gogen && GO111MODULE=off go run main.go /tmp/fuzz)
    MAAND_TEMPLATE_CASES=/tmp/fuzz cargo test -p maand-template --test conformance

Expected differences are the decisions listed in tests/overrides.txt (reflect
panics from `index` at the end of a list, secrets masked, character-boundary
`slice`) and gogen normalising `float64` inside printed `%!(EXTRA …)` markers.
"""
import random, os, sys
seed = int(sys.argv[1]); n = int(sys.argv[2]); out = sys.argv[3]
R = random.Random(seed)
STR = ['"a"', '"a,b"', '" x "', '""', '"héllo"', '"vars/job/api"', '"A b"', '"7"', '" 12 "', '"-3"', '"<&>"', "`raw\\n`", '"x\\ty"']
KEYS = ['"cluster_name"', '"memory"', '"flags"', '"empty"', '"nope"']
NS = ['"vars/job/api"', '"vars/job/db"', '"vars/job/other"', '"maand/bucket"']
FMT = ['"%d"', '"%s"', '"%v"', '"%q"', '"%5.2f"', '"%x"', '"%-4s|"', '"%03d"', '"%t"', '"%c"', '"%v-%v"', '"%s=%d"', '"%e"', '"%g"', '"%8.3v"']
def s(d):
    if d <= 0: return R.choice(STR + ['.Job', '.WorkerIP', '.NewVersion'])
    c = R.randrange(14)
    if c == 0: return f'(get {R.choice(NS)} {R.choice(KEYS)})'
    if c == 1: return f'(getOptional {R.choice(NS)} {R.choice(KEYS)})'
    if c == 2: return f'(trim {s(d-1)})'
    if c == 3: return f'({R.choice(["upper","lower"])} {s(d-1)})'
    if c == 4: return f'(printf {R.choice(FMT)} {any_(d-1)})'
    if c == 5: return f'(printf {R.choice(FMT)} {any_(d-1)} {any_(d-1)})'
    if c == 6: return f'(join {l(d-1)} {s(d-1)})'
    if c == 7: return f'(index {l(d-1)} {i(d-1)})'
    if c == 8: return f'(slice {s(d-1)} {i(0)})'
    if c == 9: return f'(print {any_(d-1)} {any_(d-1)})'
    if c == 10: return f'({R.choice(["html","js","urlquery"])} {s(d-1)})'
    if c == 11: return '(getSecret "nope")'
    return s(0)
def i(d):
    if d <= 0: return R.choice(['0', '1', '2', '3', '-1', '7', '64', '1024', '.UpdateSeq', "'a'", '0x10', '9223372036854775807'])
    c = R.randrange(9)
    if c < 6:
        f = ['add','sub','mul','div','min','max'][c]
        return f'({f} {i(d-1)} {i(d-1)})'
    if c == 6: return f'(int {s(d-1)})'
    if c == 7: return f'(len {R.choice([s(d-1), l(d-1)])})'
    return i(0)
def l(d):
    if d <= 0: return R.choice(['.Labels', '(split "a,b,c" ",")', '(split "" ",")', '(keys "vars/job/api")'])
    c = R.randrange(4)
    if c == 0: return '(split ' + s(d-1) + ' ' + R.choice(['","', '""', '" "']) + ')'
    if c == 1: return f'(slice {l(d-1)} {i(0)})'
    if c == 2: return f'(keys {R.choice(NS)})'
    return l(0)
def b(d):
    if d <= 0: return R.choice(['true', 'false'])
    c = R.randrange(6)
    if c == 0: return f'(eq {any_(d-1)} {any_(d-1)})'
    if c == 1: return f'(ne {any_(d-1)} {any_(d-1)})'
    if c == 2: return f'({R.choice(["lt","le","gt","ge"])} {R.choice([i(d-1), s(d-1)])} {R.choice([i(d-1), s(d-1)])})'
    if c == 3: return f'(not {any_(d-1)})'
    if c == 4: return f'({R.choice(["and","or"])} {any_(d-1)} {any_(d-1)})'
    return b(0)
def any_(d):
    return R.choice([s, i, l, b, lambda d: R.choice(['1.5', '3.0', '1e3', '0.25'])])(d)
def action(d):
    e = any_(d)
    if R.random() < 0.2:
        e = any_(0) + ' | ' + R.choice(['printf "%v!"', 'print', 'len', 'not', 'printf "%s-%v" "p"'])
    l_ = R.choice(['{{ ', '{{- ', '{{'])
    r_ = R.choice([' }}', ' -}}', '}}'])
    return l_ + e + r_
def text():
    return R.choice(['', ' ', '\n', 'x', '  y\n', '\t', 'a: ', ',', '\n\n  '])
def block(d):
    parts = []
    for _ in range(R.randrange(1, 4)):
        parts.append(text())
        c = R.randrange(8)
        if c < 4 or d <= 0: parts.append(action(2))
        elif c == 4: parts.append(f'{{{{ if {any_(1)} }}}}{block(d-1)}{{{{ else }}}}{block(d-1)}{{{{ end }}}}')
        elif c == 5: parts.append(f'{{{{ range $i, $v := {l(1)} }}}}{{{{ $i }}}}={{{{ $v }}}}{block(d-1)}{{{{ else }}}}none{{{{ end }}}}')
        elif c == 6: parts.append(f'{{{{ with {any_(1)} }}}}[{{{{ . }}}}]{block(d-1)}{{{{ end }}}}')
        elif c == 7 and R.random() < 0.5: parts.append(f'{{{{/* c */}}}}' + R.choice(['{{- /* d */}}', '{{/* e */ -}}', '{{- /* f */ -}}']))
        else: parts.append(f'{{{{ $x := {any_(1)} }}}}{{{{ $x }}}}{{{{ $x = {any_(1)} }}}}{{{{ $x }}}}')
    return ''.join(parts)
os.makedirs(out, exist_ok=True)
for k in range(n):
    body = block(3)
    if R.random() < 0.3:
        body = '{{ define "t" }}' + block(1) + '{{ end }}' + body + '{{ template "t" ' + any_(1) + ' }}' + R.choice(['', '{{ template "t" }}'])
    with open(os.path.join(out, f'f{seed}-{k:04d}.tpl'), 'w') as f:
        f.write(body)
