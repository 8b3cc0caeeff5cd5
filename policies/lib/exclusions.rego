package lib.parapet.exclusions

# Security Tower's risk acceptances, so that the cluster honours them as Parapet shows them: an
# annotation securitytower.io/policy.exclusion.<policy> (or the former phylake.io and
# cloud.syncier.com prefixes) with a non-blank reason, on the reviewed object (for a Pod: its
# workload's pod template), on its Namespace, or on its owners. The constraint parameter
# ignoreRiskAcceptances turns them off; Parapet sets it while evaluating and applies the acceptances
# itself, so they are shown.

prefixes := ["securitytower.io/policy.exclusion.", "phylake.io/policy.exclusion.", "cloud.syncier.com/policy.exclusion."]

accepted(policy) if {
	not object.get(input.parameters, "ignoreRiskAcceptances", false)
	some annotations in acceptance_annotations
	some prefix in prefixes
	reason := annotations[concat("", [prefix, policy])]
	is_string(reason)
	trim_space(reason) != ""
}

acceptance_annotations contains object.get(input.review.object, ["metadata", "annotations"], {})

acceptance_annotations contains object.get(input.review, ["namespaceObject", "metadata", "annotations"], {})

# A workload's own annotation accepts the Pods it creates, as Security Tower's owner lookup did: the
# owners are found by kind and name in the object's namespace in Gatekeeper's referential data, two
# levels deep (Pod -> ReplicaSet -> Deployment, Pod -> Job -> CronJob; a workload's expanded Pod
# names the workload itself). The cluster's Config must sync those kinds (`parapet policies enable`
# writes it); an owner that is not synced accepts nothing.
acceptance_annotations contains object.get(owner, ["metadata", "annotations"], {}) if {
	some owner in owners
}

owners contains owner if {
	some ref in object.get(input.review.object, ["metadata", "ownerReferences"], [])
	some owner in owned_by(ref)
}

owners contains owner if {
	some ref in object.get(input.review.object, ["metadata", "ownerReferences"], [])
	some middle in owned_by(ref)
	some middle_ref in object.get(middle, ["metadata", "ownerReferences"], [])
	some owner in owned_by(middle_ref)
}

owned_by(ref) := {owner | owner := data.inventory.namespace[namespace][_][ref.kind][ref.name]}

# At admission the request names the namespace; an expanded Pod and gator's objects carry it in metadata.
namespace := input.review.namespace if {
	input.review.namespace != ""
} else := object.get(input.review.object, ["metadata", "namespace"], "")
