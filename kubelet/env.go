package kubelet

import (
	"context"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/navarch/navarch/proxy"
)

// containerEnv resolves c's environment as Kubernetes does: envFrom
// first, then env in order (a value may refer to earlier variables and to
// Service variables with $(NAME); valueFrom reads a ConfigMap, a Secret,
// a field of the pod or a resource of the container), then the Service
// variables of the pod's namespace (with enableServiceLinks) and of the
// "kubernetes" Service in default that were not set otherwise. A missing
// ConfigMap, Secret or key that is not optional is an error, shown as
// CreateContainerConfigError.
func (k *Kubelet) containerEnv(ctx context.Context, pod *corev1.Pod, c *corev1.Container, podIP string) ([]EnvVar, error) {
	r := &envResolver{k: k, ctx: ctx, ns: pod.Namespace, cms: map[string]*corev1.ConfigMap{}, secrets: map[string]*corev1.Secret{}}
	svc := k.serviceEnv(pod)
	vars := map[string]string{}
	var order []string
	set := func(name, value string) {
		if _, ok := vars[name]; !ok {
			order = append(order, name)
		}
		vars[name] = value
	}
	for _, from := range c.EnvFrom {
		data, err := r.envFrom(from)
		if err != nil {
			return nil, err
		}
		keys := make([]string, 0, len(data))
		for key := range data {
			keys = append(keys, key)
		}
		slices.Sort(keys)
		for _, key := range keys {
			if name := from.Prefix + key; envNameRE.MatchString(name) {
				set(name, data[key])
			}
		}
	}
	lookup := func() map[string]string {
		m := make(map[string]string, len(vars)+len(svc))
		for _, e := range svc {
			m[e.Name] = e.Value
		}
		for name, v := range vars {
			m[name] = v
		}
		return m
	}
	for _, e := range c.Env {
		switch {
		case e.Value != "":
			set(e.Name, expand(e.Value, lookup()))
		case e.ValueFrom != nil:
			v, ok, err := r.valueFrom(pod, c, e.ValueFrom, podIP)
			if err != nil {
				return nil, err
			}
			if ok {
				set(e.Name, v)
			}
		default:
			set(e.Name, "")
		}
	}
	out := make([]EnvVar, 0, len(order)+len(svc))
	for _, name := range order {
		out = append(out, EnvVar{Name: name, Value: vars[name]})
	}
	for _, e := range svc {
		if _, ok := vars[e.Name]; !ok {
			out = append(out, e)
		}
	}
	return out, nil
}

var envNameRE = regexp.MustCompile(`^[-._a-zA-Z][-._a-zA-Z0-9]*$`)

// serviceEnv lists the Service variables a container of pod gets.
func (k *Kubelet) serviceEnv(pod *corev1.Pod) []EnvVar {
	if k.services == nil {
		return nil
	}
	byName := map[string]*corev1.Service{}
	if pod.Spec.EnableServiceLinks == nil || *pod.Spec.EnableServiceLinks {
		local, _ := k.services.Services(pod.Namespace).List(labels.Everything())
		for _, s := range local {
			byName[s.Name] = s
		}
	}
	if master, err := k.services.Services(metav1.NamespaceDefault).Get("kubernetes"); err == nil {
		if _, ok := byName[master.Name]; !ok || pod.Namespace == metav1.NamespaceDefault {
			byName[master.Name] = master
		}
	}
	services := make([]*corev1.Service, 0, len(byName))
	for _, s := range byName {
		services = append(services, s)
	}
	slices.SortFunc(services, func(a, b *corev1.Service) int { return strings.Compare(a.Name, b.Name) })
	vars := proxy.ServiceEnvironment(services)
	out := make([]EnvVar, len(vars))
	for i, v := range vars {
		out[i] = EnvVar{Name: v.Name, Value: v.Value}
	}
	return out
}

// envResolver reads the ConfigMaps and Secrets one container refers to,
// each once.
type envResolver struct {
	k       *Kubelet
	ctx     context.Context
	ns      string
	cms     map[string]*corev1.ConfigMap
	secrets map[string]*corev1.Secret
}

func (r *envResolver) configMap(name string) (*corev1.ConfigMap, error) {
	if cm, ok := r.cms[name]; ok {
		return cm, nil
	}
	cm, err := r.k.client.CoreV1().ConfigMaps(r.ns).Get(r.ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		cm, err = nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("get configmap %q: %w", name, err)
	}
	r.cms[name] = cm
	return cm, nil
}

func (r *envResolver) secret(name string) (*corev1.Secret, error) {
	if s, ok := r.secrets[name]; ok {
		return s, nil
	}
	s, err := r.k.client.CoreV1().Secrets(r.ns).Get(r.ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		s, err = nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("get secret %q: %w", name, err)
	}
	r.secrets[name] = s
	return s, nil
}

// envFrom returns the variables of an envFrom source.
func (r *envResolver) envFrom(from corev1.EnvFromSource) (map[string]string, error) {
	switch {
	case from.ConfigMapRef != nil:
		ref := from.ConfigMapRef
		cm, err := r.configMap(ref.Name)
		if err != nil {
			return nil, err
		}
		if cm == nil {
			if optional(ref.Optional) {
				return nil, nil
			}
			return nil, fmt.Errorf("configmap %q not found", ref.Name)
		}
		return cm.Data, nil
	case from.SecretRef != nil:
		ref := from.SecretRef
		s, err := r.secret(ref.Name)
		if err != nil {
			return nil, err
		}
		if s == nil {
			if optional(ref.Optional) {
				return nil, nil
			}
			return nil, fmt.Errorf("secret %q not found", ref.Name)
		}
		out := make(map[string]string, len(s.Data))
		for key, v := range s.Data {
			out[key] = string(v)
		}
		return out, nil
	}
	return nil, nil
}

// valueFrom resolves an env var's source; ok is false for an optional
// source that is missing (the variable is then not set).
func (r *envResolver) valueFrom(pod *corev1.Pod, c *corev1.Container, src *corev1.EnvVarSource, podIP string) (string, bool, error) {
	switch {
	case src.ConfigMapKeyRef != nil:
		ref := src.ConfigMapKeyRef
		cm, err := r.configMap(ref.Name)
		if err != nil {
			return "", false, err
		}
		if cm == nil {
			if optional(ref.Optional) {
				return "", false, nil
			}
			return "", false, fmt.Errorf("configmap %q not found", ref.Name)
		}
		v, ok := cm.Data[ref.Key]
		if !ok {
			if b, bok := cm.BinaryData[ref.Key]; bok {
				return string(b), true, nil
			}
			if optional(ref.Optional) {
				return "", false, nil
			}
			return "", false, fmt.Errorf("couldn't find key %s in ConfigMap %s/%s", ref.Key, r.ns, ref.Name)
		}
		return v, true, nil
	case src.SecretKeyRef != nil:
		ref := src.SecretKeyRef
		s, err := r.secret(ref.Name)
		if err != nil {
			return "", false, err
		}
		if s == nil {
			if optional(ref.Optional) {
				return "", false, nil
			}
			return "", false, fmt.Errorf("secret %q not found", ref.Name)
		}
		v, ok := s.Data[ref.Key]
		if !ok {
			if optional(ref.Optional) {
				return "", false, nil
			}
			return "", false, fmt.Errorf("couldn't find key %s in Secret %s/%s", ref.Key, r.ns, ref.Name)
		}
		return string(v), true, nil
	case src.FieldRef != nil:
		v, err := podField(pod, src.FieldRef.FieldPath, r.k.opts.NodeIP, podIP)
		return v, err == nil, err
	case src.ResourceFieldRef != nil:
		v, err := r.resourceField(pod, c, src.ResourceFieldRef)
		return v, err == nil, err
	}
	return "", false, nil
}

// podField reads a downward-API field of the pod.
func podField(pod *corev1.Pod, path, hostIP, podIP string) (string, error) {
	if key, ok := subscript(path, "metadata.labels"); ok {
		return pod.Labels[key], nil
	}
	if key, ok := subscript(path, "metadata.annotations"); ok {
		return pod.Annotations[key], nil
	}
	switch path {
	case "metadata.name":
		return pod.Name, nil
	case "metadata.namespace":
		return pod.Namespace, nil
	case "metadata.uid":
		return string(pod.UID), nil
	case "metadata.labels":
		return formatMap(pod.Labels), nil
	case "metadata.annotations":
		return formatMap(pod.Annotations), nil
	case "spec.nodeName":
		return pod.Spec.NodeName, nil
	case "spec.serviceAccountName":
		return pod.Spec.ServiceAccountName, nil
	case "status.hostIP", "status.hostIPs":
		return hostIP, nil
	case "status.podIP", "status.podIPs":
		return podIP, nil
	}
	return "", fmt.Errorf("unsupported fieldRef %q", path)
}

// subscript parses prefix['key'].
func subscript(path, prefix string) (string, bool) {
	rest, ok := strings.CutPrefix(path, prefix+"['")
	if !ok || !strings.HasSuffix(rest, "']") {
		return "", false
	}
	return strings.TrimSuffix(rest, "']"), true
}

// formatMap renders a map as the downward API does: key="value" lines,
// sorted.
func formatMap(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for key := range m {
		keys = append(keys, key)
	}
	slices.Sort(keys)
	var b strings.Builder
	for i, key := range keys {
		if i > 0 {
			b.WriteByte('\n')
		}
		fmt.Fprintf(&b, "%s=%q", key, m[key])
	}
	return b.String()
}

// resourceField reads a limit or request of a container (the node's
// allocatable when the limit is not set), divided by the divisor and
// rounded up as Kubernetes does.
func (r *envResolver) resourceField(pod *corev1.Pod, c *corev1.Container, ref *corev1.ResourceFieldSelector) (string, error) {
	target := c
	if ref.ContainerName != "" && ref.ContainerName != c.Name {
		target = nil
		for _, cs := range [][]corev1.Container{pod.Spec.Containers, pod.Spec.InitContainers} {
			for i := range cs {
				if cs[i].Name == ref.ContainerName {
					target = &cs[i]
				}
			}
		}
		if target == nil {
			return "", fmt.Errorf("resourceFieldRef: no container %q", ref.ContainerName)
		}
	}
	kind, name, ok := strings.Cut(ref.Resource, ".")
	if !ok || (kind != "limits" && kind != "requests") {
		return "", fmt.Errorf("unsupported resourceFieldRef %q", ref.Resource)
	}
	list := target.Resources.Limits
	if kind == "requests" {
		list = target.Resources.Requests
	}
	q, set := list[corev1.ResourceName(name)]
	if !set {
		if kind == "requests" {
			q = resource.Quantity{}
		} else {
			q = r.k.capacity()[corev1.ResourceName(name)]
		}
	}
	divisor := ref.Divisor
	if divisor.IsZero() {
		divisor = resource.MustParse("1")
	}
	if name == string(corev1.ResourceCPU) {
		return strconv.FormatInt(int64(math.Ceil(float64(q.MilliValue())/float64(divisor.MilliValue()))), 10), nil
	}
	return strconv.FormatInt(int64(math.Ceil(float64(q.Value())/float64(divisor.Value()))), 10), nil
}

func optional(b *bool) bool { return b != nil && *b }
