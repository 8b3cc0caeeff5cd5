package lib.parapet.pss

# The version of the Pod Security Standards a constraint enforces, as the minor of Kubernetes 1.x:
# the parameter version, written as Pod Security Admission's enforce-version label takes it
# ("latest", the default, or "v1.<minor>"). "latest" is the newest version this library knows, and a
# newer version is judged as that one, as Pod Security Admission judges versions newer than its own.

newest_minor := 37

minor := newest_minor if {
	object.get(input.parameters, "version", "latest") == "latest"
} else := n if {
	n := to_number(trim_prefix(input.parameters.version, "v1."))
	n < newest_minor
} else := newest_minor

at_least(n) if minor >= n

# Pod Security Admission's words for a failed check: its reason, then its detail in parentheses, as
# the API server prints each check in "violates PodSecurity". Containers are named in the order it
# visits them: init containers, containers, then ephemeral containers.

message(reason, detail) := sprintf("%v (%v)", [reason, detail])

containers := [{"kind": kind, "index": i, "name": object.get(c, "name", ""), "container": c} |
	some kind in ["initContainers", "containers", "ephemeralContainers"]
	some i, c in object.get(input.review.object.spec, kind, [])
]

pluralize(singular, _, n) := singular if n == 1

pluralize(_, plural, n) := plural if n != 1

join_quote(items) := "" if {
	count(items) == 0
} else := concat("", ["\"", concat("\", \"", items), "\""])

# `container "a"` or `containers "a", "b"`, for a list of entries of containers.
named(entries) := sprintf("%v %v", [pluralize("container", "containers", count(entries)), join_quote([e.name | some e in entries])])

# "pod", and the containers, as the checks that judge both name who sets a forbidden value.
setters(pod, entries) := array.concat([s | pod; s := "pod"], [s | count(entries) > 0; s := named(entries)])

# A field of a container entry, as a path the report places on its line.
field(entry, path) := sprintf("spec.%v[%v].%v", [entry.kind, entry.index, path])

# The entry (a container, volume or sysctl) a result is placed on and known by: the first by name,
# then in Pod Security Admission's order, so that reordering a list moves neither the result's line
# nor its identity.
anchor(entries) := [e | some e in entries; e.name == min({x.name | some x in entries})][0]
