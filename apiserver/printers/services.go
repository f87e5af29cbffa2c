package printers

import (
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
)

var servicePrinter = printer{
	columns: []metav1.TableColumnDefinition{
		nameColumn,
		column("Type", "string", corev1.ServiceSpec{}.SwaggerDoc()["type"]),
		column("Cluster-IP", "string", corev1.ServiceSpec{}.SwaggerDoc()["clusterIP"]),
		column("External-IP", "string", corev1.ServiceSpec{}.SwaggerDoc()["externalIPs"]),
		column("Port(s)", "string", corev1.ServiceSpec{}.SwaggerDoc()["ports"]),
		ageColumn,
		wideColumn("Selector", "string", corev1.ServiceSpec{}.SwaggerDoc()["selector"]),
	},
	cells: func(obj runtime.Object, now time.Time) []any {
		svc := obj.(*corev1.Service)
		clusterIP := svc.Spec.ClusterIP
		if len(svc.Spec.ClusterIPs) > 0 {
			clusterIP = svc.Spec.ClusterIPs[0]
		}
		return []any{
			svc.Name, string(svc.Spec.Type), orNone(clusterIP), serviceExternalIP(svc), orNone(servicePorts(svc.Spec.Ports)),
			since(svc.CreationTimestamp, now), labels.FormatLabels(svc.Spec.Selector),
		}
	},
}

// serviceExternalIP is the EXTERNAL-IP cell: external IPs, load-balancer
// ingress addresses ("<pending>" until there are some), or the external name.
func serviceExternalIP(svc *corev1.Service) string {
	switch svc.Spec.Type {
	case corev1.ServiceTypeClusterIP, corev1.ServiceTypeNodePort:
		return orNone(strings.Join(svc.Spec.ExternalIPs, ","))
	case corev1.ServiceTypeLoadBalancer:
		seen := map[string]bool{}
		var addrs []string
		for _, in := range svc.Status.LoadBalancer.Ingress {
			a := in.IP
			if a == "" {
				a = in.Hostname
			}
			if a != "" && !seen[a] {
				seen[a] = true
				addrs = append(addrs, a)
			}
		}
		sort.Strings(addrs)
		// kube-apiserver builds tables as for -o wide, so addresses are
		// not clipped to the narrow column's width.
		all := append(addrs, svc.Spec.ExternalIPs...)
		if len(all) == 0 {
			return "<pending>"
		}
		return strings.Join(all, ",")
	case corev1.ServiceTypeExternalName:
		return svc.Spec.ExternalName
	}
	return "<unknown>"
}

func servicePorts(ports []corev1.ServicePort) string {
	pieces := make([]string, len(ports))
	for i, p := range ports {
		pieces[i] = fmt.Sprintf("%d/%s", p.Port, p.Protocol)
		if p.NodePort > 0 {
			pieces[i] = fmt.Sprintf("%d:%d/%s", p.Port, p.NodePort, p.Protocol)
		}
	}
	return strings.Join(pieces, ",")
}

var endpointsPrinter = printer{
	columns: []metav1.TableColumnDefinition{
		nameColumn,
		column("Endpoints", "string", corev1.Endpoints{}.SwaggerDoc()["subsets"]),
		ageColumn,
	},
	cells: func(obj runtime.Object, now time.Time) []any {
		ep := obj.(*corev1.Endpoints)
		return []any{ep.Name, formatEndpoints(ep), since(ep.CreationTimestamp, now)}
	},
}

// formatEndpoints lists the first three address:port pairs of ep and how
// many more there are; "<none>" when it has no subsets.
func formatEndpoints(ep *corev1.Endpoints) string {
	if len(ep.Subsets) == 0 {
		return none
	}
	const max = 3
	var list []string
	count := 0
	for _, ss := range ep.Subsets {
		if len(ss.Ports) == 0 {
			// A headless service without ports.
			count += len(ss.Addresses)
			for _, a := range ss.Addresses {
				if len(list) < max {
					list = append(list, a.IP)
				}
			}
			continue
		}
		for _, p := range ss.Ports {
			count += len(ss.Addresses)
			for _, a := range ss.Addresses {
				if len(list) < max {
					list = append(list, net.JoinHostPort(a.IP, strconv.Itoa(int(p.Port))))
				}
			}
		}
	}
	if count > max {
		return fmt.Sprintf("%s + %d more...", strings.Join(list, ","), count-max)
	}
	return strings.Join(list, ",")
}

var endpointSlicePrinter = printer{
	columns: []metav1.TableColumnDefinition{
		nameColumn,
		column("AddressType", "string", discoveryv1.EndpointSlice{}.SwaggerDoc()["addressType"]),
		column("Ports", "string", discoveryv1.EndpointSlice{}.SwaggerDoc()["ports"]),
		column("Endpoints", "string", discoveryv1.EndpointSlice{}.SwaggerDoc()["endpoints"]),
		ageColumn,
	},
	cells: func(obj runtime.Object, now time.Time) []any {
		es := obj.(*discoveryv1.EndpointSlice)
		var ports, addrs []string
		for _, p := range es.Ports {
			switch {
			case p.Port != nil:
				ports = append(ports, strconv.Itoa(int(*p.Port)))
			case p.Name != nil:
				ports = append(ports, *p.Name)
			default:
				ports = append(ports, "*")
			}
		}
		for _, e := range es.Endpoints {
			addrs = append(addrs, e.Addresses...)
		}
		return []any{es.Name, string(es.AddressType), firstWithMore(ports, 3), firstWithMore(addrs, 3), since(es.CreationTimestamp, now)}
	},
}
