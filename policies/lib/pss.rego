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
