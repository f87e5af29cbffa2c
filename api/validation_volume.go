package api

import (
	"path"
	"path/filepath"
	"reflect"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Volume validation, ported from Kubernetes' ValidateVolumes and
// validateVolumeSource.

// validateVolumes checks a pod's volumes and returns the valid ones by name,
// for the volume mounts to refer to.
func validateVolumes(volumes []corev1.Volume, path *field.Path) (map[string]corev1.VolumeSource, field.ErrorList) {
	var errs field.ErrorList
	vols := make(map[string]corev1.VolumeSource, len(volumes))
	for i, v := range volumes {
		idx := path.Index(i)
		namePath := idx.Child("name")
		el := validateVolumeSource(&v.VolumeSource, idx)
		if v.Name == "" {
			el = append(el, field.Required(namePath, ""))
		} else {
			el = append(el, validateDNS1123Label(v.Name, namePath)...)
		}
		if _, dup := vols[v.Name]; dup {
			el = append(el, field.Duplicate(namePath, v.Name))
		}
		if len(el) == 0 {
			vols[v.Name] = v.VolumeSource
		} else {
			errs = append(errs, el...)
		}
	}
	return vols, errs
}

// volumeSourceOrder is the order in which Kubernetes looks at a volume's
// sources: the second one set is the one reported.
var volumeSourceOrder = []string{"emptyDir", "hostPath", "gitRepo", "gcePersistentDisk", "awsElasticBlockStore",
	"secret", "nfs", "iscsi", "glusterfs", "flocker", "persistentVolumeClaim", "rbd", "cinder", "cephfs", "quobyte",
	"downwardAPI", "fc", "flexVolume", "configMap", "azureFile", "vsphereVolume", "photonPersistentDisk",
	"portworxVolume", "azureDisk", "storageos", "projected", "scaleIO", "csi", "ephemeral", "image"}

// validateVolumeSource requires exactly one source and checks the common
// ones in detail.
func validateVolumeSource(src *corev1.VolumeSource, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	set := map[string]bool{}
	v := reflect.ValueOf(src).Elem()
	for i := 0; i < v.NumField(); i++ {
		if f := v.Field(i); f.Kind() == reflect.Pointer && !f.IsNil() {
			set[jsonName(v.Type().Field(i))] = true
		}
	}
	sources := 0
	for _, name := range volumeSourceOrder {
		if !set[name] {
			continue
		}
		if sources > 0 {
			errs = append(errs, field.Forbidden(path.Child(name), "may not specify more than 1 volume type"))
			continue
		}
		sources++
		errs = append(errs, validateOneVolumeSource(src, path.Child(name))...)
	}
	if sources == 0 {
		errs = append(errs, field.Required(path, "must specify a volume type"))
	}
	return errs
}

// jsonName returns the name a struct field has on the wire.
func jsonName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
	if name == "" {
		return f.Name
	}
	return name
}

// validateOneVolumeSource checks the set source of src; sources navarch
// cannot mount (cloud disks, in-tree network filesystems) are only counted.
func validateOneVolumeSource(src *corev1.VolumeSource, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	switch {
	case src.EmptyDir != nil:
		if l := src.EmptyDir.SizeLimit; l != nil && l.Cmp(resource.Quantity{}) < 0 {
			errs = append(errs, field.Forbidden(path.Child("sizeLimit"), "SizeLimit field must be a valid resource quantity"))
		}
	case src.HostPath != nil:
		if src.HostPath.Path == "" {
			return field.ErrorList{field.Required(path.Child("path"), "")}
		}
		errs = append(errs, validatePathNoBacksteps(src.HostPath.Path, path.Child("path"))...)
		if t := src.HostPath.Type; t != nil {
			errs = appendIf(errs, oneOf(*t, path.Child("type"), hostPathTypes...))
		}
	case src.Secret != nil:
		if src.Secret.SecretName == "" {
			errs = append(errs, field.Required(path.Child("secretName"), ""))
		}
		errs = append(errs, validateFileMode(src.Secret.DefaultMode, path.Child("defaultMode"))...)
		errs = append(errs, validateKeysToPaths(src.Secret.Items, path.Child("items"))...)
	case src.ConfigMap != nil:
		if src.ConfigMap.Name == "" {
			errs = append(errs, field.Required(path.Child("name"), ""))
		}
		errs = append(errs, validateFileMode(src.ConfigMap.DefaultMode, path.Child("defaultMode"))...)
		errs = append(errs, validateKeysToPaths(src.ConfigMap.Items, path.Child("items"))...)
	case src.PersistentVolumeClaim != nil:
		if src.PersistentVolumeClaim.ClaimName == "" {
			errs = append(errs, field.Required(path.Child("claimName"), ""))
		}
	case src.NFS != nil:
		if src.NFS.Server == "" {
			errs = append(errs, field.Required(path.Child("server"), ""))
		}
		if src.NFS.Path == "" {
			errs = append(errs, field.Required(path.Child("path"), ""))
		}
		if !strings.HasPrefix(src.NFS.Path, "/") {
			errs = append(errs, field.Invalid(path.Child("path"), src.NFS.Path, "must be an absolute path"))
		}
	case src.DownwardAPI != nil:
		errs = append(errs, validateFileMode(src.DownwardAPI.DefaultMode, path.Child("defaultMode"))...)
		for _, f := range src.DownwardAPI.Items {
			errs = append(errs, validateDownwardAPIFile(&f, path)...)
		}
	case src.Projected != nil:
		errs = append(errs, validateProjected(src.Projected, path)...)
	case src.Image != nil:
		if src.Image.Reference == "" {
			errs = append(errs, field.Required(path.Child("reference"), ""))
		}
		errs = appendIf(errs, enumError(src.Image.PullPolicy, path.Child("pullPolicy"), pullPolicies...))
	}
	return errs
}

// hostPathTypes in the sorted order Kubernetes lists them in its message.
var hostPathTypes = []corev1.HostPathType{
	corev1.HostPathUnset, corev1.HostPathBlockDev, corev1.HostPathCharDev, corev1.HostPathDirectory,
	corev1.HostPathDirectoryOrCreate, corev1.HostPathFile, corev1.HostPathFileOrCreate, corev1.HostPathSocket,
}

func validateKeysToPaths(items []corev1.KeyToPath, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, kp := range items {
		p := path.Index(i)
		if kp.Key == "" {
			errs = append(errs, field.Required(p.Child("key"), ""))
		}
		if kp.Path == "" {
			errs = append(errs, field.Required(p.Child("path"), ""))
		}
		errs = append(errs, validateLocalNonReservedPath(kp.Path, p.Child("path"))...)
		errs = append(errs, validateFileMode(kp.Mode, p.Child("mode"))...)
	}
	return errs
}

var volumeDownwardAPIFieldPaths = []string{"metadata.annotations", "metadata.labels", "metadata.name", "metadata.namespace", "metadata.uid"}

func validateDownwardAPIFile(f *corev1.DownwardAPIVolumeFile, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if f.Path == "" {
		errs = append(errs, field.Required(path.Child("path"), ""))
	}
	errs = append(errs, validateLocalNonReservedPath(f.Path, path.Child("path"))...)
	switch {
	case f.FieldRef != nil && f.ResourceFieldRef != nil:
		errs = append(errs, field.Invalid(path, "resource", "fieldRef and resourceFieldRef can not be specified simultaneously"))
	case f.FieldRef != nil:
		errs = append(errs, validateObjectFieldSelector(f.FieldRef, volumeDownwardAPIFieldPaths, path.Child("fieldRef"))...)
	case f.ResourceFieldRef != nil:
		if f.ResourceFieldRef.ContainerName == "" {
			errs = append(errs, field.Required(path.Child("resourceFieldRef", "containerName"), ""))
		}
	default:
		errs = append(errs, field.Required(path, "one of fieldRef and resourceFieldRef is required"))
	}
	return append(errs, validateFileMode(f.Mode, path.Child("mode"))...)
}

func validateProjected(p *corev1.ProjectedVolumeSource, path *field.Path) field.ErrorList {
	errs := validateFileMode(p.DefaultMode, path.Child("defaultMode"))
	paths := map[string]bool{}
	addPath := func(name, p string) {
		if p == "" {
			return
		}
		if paths[p] {
			errs = append(errs, field.Invalid(path, name, "conflicting duplicate paths"))
		}
		paths[p] = true
	}
	for i, s := range p.Sources {
		sp := path.Child("sources").Index(i)
		n := 0
		if s.Secret != nil {
			n++
			if s.Secret.Name == "" {
				errs = append(errs, field.Required(sp.Child("secret", "name"), ""))
			}
			errs = append(errs, validateKeysToPaths(s.Secret.Items, sp.Child("secret", "items"))...)
			for _, kp := range s.Secret.Items {
				addPath(s.Secret.Name, kp.Path)
			}
		}
		if s.ConfigMap != nil {
			n++
			if s.ConfigMap.Name == "" {
				errs = append(errs, field.Required(sp.Child("configMap", "name"), ""))
			}
			errs = append(errs, validateKeysToPaths(s.ConfigMap.Items, sp.Child("configMap", "items"))...)
			for _, kp := range s.ConfigMap.Items {
				addPath(s.ConfigMap.Name, kp.Path)
			}
		}
		if s.DownwardAPI != nil {
			n++
			for _, f := range s.DownwardAPI.Items {
				errs = append(errs, validateDownwardAPIFile(&f, sp.Child("downwardAPI"))...)
				addPath(f.Path, f.Path)
			}
		}
		if t := s.ServiceAccountToken; t != nil {
			n++
			if t.ExpirationSeconds != nil && *t.ExpirationSeconds < 10*60 {
				errs = append(errs, field.Invalid(sp.Child("serviceAccountToken", "expirationSeconds"), *t.ExpirationSeconds, "may not specify a duration less than 10 minutes"))
			}
			if t.Path == "" {
				errs = append(errs, field.Required(path.Child("path"), ""))
			} else {
				errs = append(errs, validateLocalNonReservedPath(t.Path, path.Child("path"))...)
			}
		}
		if s.ClusterTrustBundle != nil {
			n++
		}
		if n > 1 {
			errs = append(errs, field.Forbidden(sp, "may not specify more than 1 volume type per source"))
		}
	}
	return errs
}

// validateLocalDescendingPath requires a relative path without ".." elements.
func validateLocalDescendingPath(target string, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if filepath.IsAbs(target) || strings.HasPrefix(target, "/") {
		errs = append(errs, field.Invalid(path, target, "must be a relative path"))
	}
	return append(errs, validatePathNoBacksteps(target, path)...)
}

// validatePathNoBacksteps forbids ".." elements.
func validatePathNoBacksteps(target string, path *field.Path) field.ErrorList {
	for _, item := range strings.Split(filepath.ToSlash(target), "/") {
		if item == ".." {
			return field.ErrorList{field.Invalid(path, target, "must not contain '..'")}
		}
	}
	return nil
}

// validateLocalNonReservedPath is validateLocalDescendingPath that also
// forbids names starting with "..".
func validateLocalNonReservedPath(target string, path *field.Path) field.ErrorList {
	errs := validateLocalDescendingPath(target, path)
	if strings.HasPrefix(target, "..") && !strings.HasPrefix(target, "../") {
		errs = append(errs, field.Invalid(path, target, "must not start with '..'"))
	}
	return errs
}

// isAbsPath reports whether p is an absolute slash-separated path.
func isAbsPath(p string) bool { return path.IsAbs(p) }
