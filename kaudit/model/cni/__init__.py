"""Policy kinds of the CNI plugins: Cilium's and Calico's own network policies.

`calico_selector` parses Calico's selector expression language; `cilium` and
`calico` hold the policy objects, built from the wire types like the rest of the
model. The engine (`kaudit.netpol`) reads them as tiers around NetworkPolicy.
"""
