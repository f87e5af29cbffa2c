package api

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

func TestValidatePod(t *testing.T) {
	ctr := func(p *corev1.Pod) *corev1.Container { return &p.Spec.Containers[0] }
	cpu := func(q string) corev1.ResourceList {
		return corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(q)}
	}
	httpProbe := &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Port: intstr.FromInt32(80)}}}
	runValidationCases(t, validPod, []validationCase[*corev1.Pod]{
		{name: "a defaulted pod is valid"},
		{name: "a pod needs a namespace", mutate: func(p *corev1.Pod) { p.Namespace = "" },
			want: []string{"metadata.namespace: Required value"}},
		{name: "a pod name is a DNS subdomain", mutate: func(p *corev1.Pod) { p.Name = "Web_1" },
			want: []string{`metadata.name: Invalid value: "Web_1": a lowercase RFC 1123 subdomain`}},
		{name: "a pod without name nor generateName", mutate: func(p *corev1.Pod) { p.Name = "" },
			want: []string{"metadata.name: Required value: name or generateName is required"}},
		{name: "a finalizer without domain must be a standard one", mutate: func(p *corev1.Pod) { p.Finalizers = []string{"cleanup"} },
			want: []string{`metadata.finalizers[0]: Invalid value: "cleanup": name is neither a standard finalizer name nor is it fully qualified`}},
		{name: "labels must be valid", mutate: func(p *corev1.Pod) { p.Labels["app"] = "web server" },
			want: []string{`metadata.labels: Invalid value: "web server": a valid label must be`}},
		{name: "containers are required", mutate: func(p *corev1.Pod) { p.Spec.Containers = nil },
			want: []string{"spec.containers: Required value"}},
		{name: "an image is required", mutate: func(p *corev1.Pod) { ctr(p).Image = "" },
			want: []string{"spec.containers[0].image: Required value"}},
		{name: "an image has no surrounding blanks", mutate: func(p *corev1.Pod) { ctr(p).Image = " nginx " },
			want: []string{`spec.containers[0].image: Invalid value: " nginx ": must not have leading or trailing whitespace`}},
		{name: "container names are DNS labels", mutate: func(p *corev1.Pod) { ctr(p).Name = "Web_1" },
			want: []string{`spec.containers[0].name: Invalid value: "Web_1": a lowercase RFC 1123 label`}},
		{name: "container names are unique", mutate: func(p *corev1.Pod) {
			p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: "web", Image: "x:1", ImagePullPolicy: "Always", TerminationMessagePolicy: "File"})
		}, want: []string{`spec.containers[1].name: Duplicate value: "web"`}},
		{name: "init container names are unique across init and app containers", mutate: func(p *corev1.Pod) {
			p.Spec.InitContainers = []corev1.Container{{Name: "web", Image: "x:1", ImagePullPolicy: "Always", TerminationMessagePolicy: "File"}}
		}, want: []string{`spec.initContainers[0].name: Duplicate value: "web"`}},
		{name: "init containers take no probes", mutate: func(p *corev1.Pod) {
			p.Spec.InitContainers = []corev1.Container{{Name: "init", Image: "x:1", ImagePullPolicy: "Always", TerminationMessagePolicy: "File", LivenessProbe: httpProbe}}
		}, want: []string{"spec.initContainers[0].livenessProbe: Forbidden: may not be set for init containers without restartPolicy=Always"}},
		{name: "container ports are 1-65535", mutate: func(p *corev1.Pod) { ctr(p).Ports[0].ContainerPort = 70000 },
			want: []string{"spec.containers[0].ports[0].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive"}},
		{name: "a container port is required", mutate: func(p *corev1.Pod) { ctr(p).Ports[0].ContainerPort = 0 },
			want: []string{"spec.containers[0].ports[0].containerPort: Required value"}},
		{name: "port protocols are TCP, UDP or SCTP", mutate: func(p *corev1.Pod) { ctr(p).Ports[0].Protocol = "HTTP" },
			want: []string{`spec.containers[0].ports[0].protocol: Unsupported value: "HTTP": supported values: "SCTP", "TCP", "UDP"`}},
		{name: "port names are unique", mutate: func(p *corev1.Pod) {
			ctr(p).Ports = append(ctr(p).Ports, corev1.ContainerPort{Name: "http", ContainerPort: 81, Protocol: "TCP"})
		}, want: []string{`spec.containers[0].ports[1].name: Duplicate value: "http"`}},
		{name: "env names are required", mutate: func(p *corev1.Pod) { ctr(p).Env = []corev1.EnvVar{{Value: "x"}} },
			want: []string{"spec.containers[0].env[0].name: Required value"}},
		{name: "env names have no equals sign", mutate: func(p *corev1.Pod) { ctr(p).Env = []corev1.EnvVar{{Name: "A=B"}} },
			want: []string{`spec.containers[0].env[0].name: Invalid value: "A=B"`}},
		{name: "valueFrom takes exactly one source", mutate: func(p *corev1.Pod) {
			ctr(p).Env = []corev1.EnvVar{{Name: "A", ValueFrom: &corev1.EnvVarSource{
				FieldRef:     &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.name"},
				SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "s"}, Key: "k"}}}}
		}, want: []string{`spec.containers[0].env[0].valueFrom: Invalid value: "": may not have more than one field specified at a time`}},
		{name: "valueFrom needs a source", mutate: func(p *corev1.Pod) {
			ctr(p).Env = []corev1.EnvVar{{Name: "A", ValueFrom: &corev1.EnvVarSource{}}}
		}, want: []string{"spec.containers[0].env[0].valueFrom: Invalid value: \"\": must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`"}},
		{name: "valueFrom excludes value", mutate: func(p *corev1.Pod) {
			ctr(p).Env = []corev1.EnvVar{{Name: "A", Value: "x", ValueFrom: &corev1.EnvVarSource{
				ConfigMapKeyRef: &corev1.ConfigMapKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "c"}, Key: "k"}}}}
		}, want: []string{"spec.containers[0].env[0].valueFrom: Invalid value: \"\": may not be specified when `value` is not empty"}},
		{name: "fieldRef names a supported field", mutate: func(p *corev1.Pod) {
			ctr(p).Env = []corev1.EnvVar{{Name: "A", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "spec.host"}}}}
		}, want: []string{`spec.containers[0].env[0].valueFrom.fieldRef.fieldPath: Unsupported value: "spec.host"`}},
		{name: "volume names are unique", mutate: func(p *corev1.Pod) { p.Spec.Volumes = append(p.Spec.Volumes, p.Spec.Volumes[0]) },
			want: []string{`spec.volumes[1].name: Duplicate value: "data"`}},
		{name: "a volume has one source", mutate: func(p *corev1.Pod) {
			p.Spec.Volumes[0].HostPath = &corev1.HostPathVolumeSource{Path: "/tmp", Type: ptr.To(corev1.HostPathUnset)}
		}, want: []string{"spec.volumes[0].hostPath: Forbidden: may not specify more than 1 volume type",
			// An invalid volume is not there for mounts to refer to, as in Kubernetes.
			`spec.containers[0].volumeMounts[0].name: Not found: "data"`}},
		{name: "a volume has a source", mutate: func(p *corev1.Pod) { p.Spec.Volumes[0].EmptyDir = nil },
			want: []string{"spec.volumes[0]: Required value: must specify a volume type", `spec.containers[0].volumeMounts[0].name: Not found: "data"`}},
		{name: "a configMap volume names its ConfigMap", mutate: func(p *corev1.Pod) {
			p.Spec.Volumes[0].VolumeSource = corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{DefaultMode: ptr.To[int32](0o1777)}}
		}, want: []string{"spec.volumes[0].configMap.name: Required value", "spec.volumes[0].configMap.defaultMode: Invalid value: 1023: must be a number between 0 and 0777",
			`spec.containers[0].volumeMounts[0].name: Not found: "data"`}},
		{name: "volume mounts name a volume", mutate: func(p *corev1.Pod) { ctr(p).VolumeMounts[0].Name = "missing" },
			want: []string{`spec.containers[0].volumeMounts[0].name: Not found: "missing"`}},
		{name: "mount paths are absolute", mutate: func(p *corev1.Pod) { ctr(p).VolumeMounts[0].MountPath = "data" },
			want: []string{`spec.containers[0].volumeMounts[0].mountPath: Invalid value: "data": must be an absolute path`}},
		{name: "mount paths are unique", mutate: func(p *corev1.Pod) {
			ctr(p).VolumeMounts = append(ctr(p).VolumeMounts, ctr(p).VolumeMounts[0])
		}, want: []string{`spec.containers[0].volumeMounts[1].mountPath: Invalid value: "/data": must be unique`}},
		{name: "requests may not exceed limits", mutate: func(p *corev1.Pod) {
			ctr(p).Resources = corev1.ResourceRequirements{Requests: cpu("2"), Limits: cpu("1")}
		}, want: []string{`spec.containers[0].resources.requests: Invalid value: "2": must be less than or equal to cpu limit of 1`}},
		{name: "quantities are not negative", mutate: func(p *corev1.Pod) { ctr(p).Resources.Limits = cpu("-1") },
			want: []string{`spec.containers[0].resources.limits[cpu]: Invalid value: "-1": must be greater than or equal to 0`}},
		{name: "resource names are standard or qualified", mutate: func(p *corev1.Pod) {
			ctr(p).Resources.Limits = corev1.ResourceList{"gpu": resource.MustParse("1")}
		}, want: []string{`spec.containers[0].resources.limits[gpu]: Invalid value: "gpu": must be a standard resource type or fully qualified`,
			`spec.containers[0].resources.limits[gpu]: Invalid value: "gpu": must be a standard resource for containers`}},
		{name: "extended resources are whole numbers and requested as limited", mutate: func(p *corev1.Pod) {
			ctr(p).Resources = corev1.ResourceRequirements{Requests: corev1.ResourceList{"example.com/gpu": resource.MustParse("500m")}}
		}, want: []string{`spec.containers[0].resources.requests[example.com/gpu]: Invalid value: "500m": must be an integer`,
			"spec.containers[0].resources.limits: Required value: Limit must be set for non overcommitable resources"}},
		{name: "a probe has one handler", mutate: func(p *corev1.Pod) {
			ctr(p).LivenessProbe = httpProbe.DeepCopy()
			ctr(p).LivenessProbe.TCPSocket = &corev1.TCPSocketAction{Port: intstr.FromInt32(80)}
			defaultProbe(ctr(p).LivenessProbe)
		}, want: []string{"spec.containers[0].livenessProbe.tcpSocket: Forbidden: may not specify more than 1 handler type"}},
		{name: "a probe has a handler", mutate: func(p *corev1.Pod) {
			ctr(p).ReadinessProbe = &corev1.Probe{}
			defaultProbe(ctr(p).ReadinessProbe)
		}, want: []string{"spec.containers[0].readinessProbe: Required value: must specify a handler type"}},
		{name: "probe thresholds are not negative", mutate: func(p *corev1.Pod) {
			ctr(p).ReadinessProbe = httpProbe.DeepCopy()
			defaultProbe(ctr(p).ReadinessProbe)
			ctr(p).ReadinessProbe.FailureThreshold = -1
		}, want: []string{"spec.containers[0].readinessProbe.failureThreshold: Invalid value: -1: must be greater than or equal to 0"}},
		{name: "a liveness probe succeeds once", mutate: func(p *corev1.Pod) {
			ctr(p).LivenessProbe = httpProbe.DeepCopy()
			defaultProbe(ctr(p).LivenessProbe)
			ctr(p).LivenessProbe.SuccessThreshold = 2
		}, want: []string{"spec.containers[0].livenessProbe.successThreshold: Invalid value: 2: must be 1"}},
		{name: "an httpGet scheme is HTTP or HTTPS", mutate: func(p *corev1.Pod) {
			ctr(p).LivenessProbe = httpProbe.DeepCopy()
			defaultProbe(ctr(p).LivenessProbe)
			ctr(p).LivenessProbe.HTTPGet.Scheme = "FTP"
		}, want: []string{`spec.containers[0].livenessProbe.httpGet.scheme: Unsupported value: "FTP": supported values: "HTTP", "HTTPS"`}},
		{name: "restartPolicy is Always, OnFailure or Never", mutate: func(p *corev1.Pod) { p.Spec.RestartPolicy = "Sometimes" },
			want: []string{`spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"`}},
		{name: "dnsPolicy is one of four", mutate: func(p *corev1.Pod) { p.Spec.DNSPolicy = "Google" },
			want: []string{`spec.dnsPolicy: Unsupported value: "Google": supported values: "ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"`}},
		{name: "terminationGracePeriodSeconds is not negative", mutate: func(p *corev1.Pod) { p.Spec.TerminationGracePeriodSeconds = ptr.To[int64](-1) },
			want: []string{"spec.terminationGracePeriodSeconds: Invalid value: -1: must be greater than or equal to 0"}},
		{name: "nodeSelector holds labels", mutate: func(p *corev1.Pod) { p.Spec.NodeSelector = map[string]string{"disk": "fast ssd"} },
			want: []string{`spec.nodeSelector: Invalid value: "fast ssd": a valid label must be`}},
		{name: "toleration operators are Equal or Exists", mutate: func(p *corev1.Pod) {
			p.Spec.Tolerations = []corev1.Toleration{{Key: "k", Operator: "Maybe"}}
		}, want: []string{`spec.tolerations[0].operator: Unsupported value: "Maybe": supported values: "Equal", "Exists"`}},
		{name: "toleration effects are the taint effects", mutate: func(p *corev1.Pod) {
			p.Spec.Tolerations = []corev1.Toleration{{Key: "k", Operator: "Exists", Effect: "NoRun"}}
		}, want: []string{`spec.tolerations[0].effect: Unsupported value: "NoRun": supported values: "NoSchedule", "PreferNoSchedule", "NoExecute"`}},
		{name: "a toleration without key uses Exists", mutate: func(p *corev1.Pod) {
			p.Spec.Tolerations = []corev1.Toleration{{Operator: "Equal", Value: "v"}}
		}, want: []string{`spec.tolerations[0].operator: Invalid value: "Equal": operator must be Exists when ` + "`key`" + ` is empty`}},
		{name: "tolerationSeconds needs NoExecute", mutate: func(p *corev1.Pod) {
			p.Spec.Tolerations = []corev1.Toleration{{Key: "k", Operator: "Exists", Effect: "NoSchedule", TolerationSeconds: ptr.To[int64](5)}}
		}, want: []string{`spec.tolerations[0].effect: Invalid value: "NoSchedule": effect must be 'NoExecute' when ` + "`tolerationSeconds`" + ` is set`}},
		{name: "affinity label selectors are valid", mutate: func(p *corev1.Pod) {
			p.Spec.Affinity = &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{{
				LabelSelector: &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "app", Operator: "Near"}}},
				TopologyKey:   "kubernetes.io/hostname"}}}}
		}, want: []string{`spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].labelSelector.matchExpressions[0].operator: Invalid value: "Near": not a valid selector operator`}},
		{name: "node affinity needs a term", mutate: func(p *corev1.Pod) {
			p.Spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{}}}
		}, want: []string{"spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms: Required value: must have at least one node selector term"}},
		{name: "hostNetwork pods use their container ports on the host", mutate: func(p *corev1.Pod) {
			p.Spec.HostNetwork = true
			ctr(p).Ports[0].HostPort = 8080
		}, want: []string{"spec.containers[0].ports[0].hostPort: Invalid value: 8080: must match `containerPort` when `hostNetwork` is true"}},
		{name: "ephemeral containers are not set on create", mutate: func(p *corev1.Pod) {
			p.Spec.EphemeralContainers = []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{
				Name: "debug", Image: "busybox:1", ImagePullPolicy: "IfNotPresent", TerminationMessagePolicy: "File"}}}
		}, want: []string{"spec.ephemeralContainers: Forbidden: cannot be set on create"}},
		{name: "nodeName is a node name", mutate: func(p *corev1.Pod) { p.Spec.NodeName = "Node_1" },
			want: []string{`spec.nodeName: Invalid value: "Node_1": a lowercase RFC 1123 subdomain`}},
		{name: "activeDeadlineSeconds is positive", mutate: func(p *corev1.Pod) { p.Spec.ActiveDeadlineSeconds = ptr.To[int64](0) },
			want: []string{"spec.activeDeadlineSeconds: Invalid value: 0: must be between 1 and 2147483647, inclusive"}},
		{name: "imagePullPolicy is one of three", mutate: func(p *corev1.Pod) { ctr(p).ImagePullPolicy = "Sometimes" },
			want: []string{`spec.containers[0].imagePullPolicy: Unsupported value: "Sometimes": supported values: "Always", "IfNotPresent", "Never"`}},
	})
}
