package lib.parapet.exclusions

# Security Tower's risk acceptances, so that the cluster honours them as Parapet shows them: an
# annotation securitytower.io/policy.exclusion.<policy> (or the former phylake.io and
# cloud.syncier.com prefixes) with a non-blank reason, on the reviewed object (for a Pod: its
# workload's pod template) or on its Namespace. The constraint parameter ignoreRiskAcceptances turns
# them off; Parapet sets it while evaluating and applies the acceptances itself, so they are shown.

prefixes := ["securitytower.io/policy.exclusion.", "phylake.io/policy.exclusion.", "cloud.syncier.com/policy.exclusion."]

accepted(policy) if {
	not object.get(input.parameters, "ignoreRiskAcceptances", false)
	some annotations in [object_annotations, namespace_annotations]
	some prefix in prefixes
	reason := annotations[concat("", [prefix, policy])]
	is_string(reason)
	trim_space(reason) != ""
}

object_annotations := object.get(input.review.object, ["metadata", "annotations"], {})

namespace_annotations := object.get(input.review, ["namespaceObject", "metadata", "annotations"], {})
