package controllers

import (
	"errors"
	"fmt"
	"reflect"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ErrUnknownStrategy is returned by PlanRollout for a strategy type other
// than RollingUpdate or Recreate.
var ErrUnknownStrategy = errors.New("unknown deployment strategy")

// RolloutInput is what one Deployment sync looks at.
type RolloutInput struct {
	// Deployment is the Deployment as last read (spec, annotations, status).
	Deployment *appsv1.Deployment
	// ReplicaSets are the ReplicaSets the Deployment controls (controller
	// ownerReference), new and old, in any order, with their status as the
	// ReplicaSet controller last wrote it. The planner tells the new one
	// (template equal to the Deployment's) from the old ones.
	ReplicaSets []*appsv1.ReplicaSet
	// OldPodsRunning: some pod of an old ReplicaSet is not yet terminal.
	// Only Recreate reads it: it waits for old pods to be gone, not just
	// for the old ReplicaSets to be scaled to zero.
	OldPodsRunning bool
	// Now is the time of the sync: condition timestamps and the progress
	// deadline are measured against it.
	Now time.Time
}

// ActionType says what an Action does to a ReplicaSet.
type ActionType string

// The actions a plan may hold.
const (
	// ActionCreate creates Action.ReplicaSet (replicas From 0 To N).
	ActionCreate ActionType = "Create"
	// ActionScale updates Action.ReplicaSet, changing spec.replicas From → To
	// (and its annotations with it).
	ActionScale ActionType = "Scale"
	// ActionUpdate updates Action.ReplicaSet without changing its size:
	// annotations (revision, desired/max replicas) or minReadySeconds.
	ActionUpdate ActionType = "Update"
	// ActionDelete deletes Action.ReplicaSet (revision history clean-up).
	ActionDelete ActionType = "Delete"
)

// Action is one write to a ReplicaSet. ReplicaSet is the full desired
// object, to be sent as is (its resourceVersion is the one read, so a
// concurrent change fails the write with a conflict and the next sync
// plans again).
type Action struct {
	Type       ActionType
	ReplicaSet *appsv1.ReplicaSet
	From, To   int32
}

// Event is an event the controller records on the Deployment.
type Event struct {
	Type    string // corev1.EventTypeNormal or EventTypeWarning
	Reason  string
	Message string
}

// RolloutPlan is everything one sync of a Deployment writes, in order.
type RolloutPlan struct {
	// Actions on ReplicaSets, in the order Kubernetes performs them.
	Actions []Action
	// Deployment is the Deployment with its new revision annotation and
	// status. Write the annotations when AnnotationsChanged (Kubernetes
	// writes them through the status subresource) and the status when
	// StatusChanged, after the Actions.
	Deployment         *appsv1.Deployment
	AnnotationsChanged bool
	StatusChanged      bool
	// Events to record on the Deployment.
	Events []Event
	// RequeueAfter > 0 asks for another sync then, to check the progress
	// deadline of a rollout that shows no progress; 0 means no timed check
	// is needed (events will trigger syncs).
	RequeueAfter time.Duration
}

// planner is one sync in progress. It works on copies and applies each of
// its own writes to them at once, so later steps of the sync see them —
// the plan is what Kubernetes' sync does when every write succeeds.
type planner struct {
	d              *appsv1.Deployment
	rss            []*appsv1.ReplicaSet
	oldPodsRunning bool
	now            metav1.Time
	plan           *RolloutPlan
	index          map[*appsv1.ReplicaSet]int // RS → its action's index
}

// PlanRollout computes the writes of one Deployment sync, porting the
// Kubernetes Deployment controller (syncDeployment and the rolling,
// recreate, scaling, revision, clean-up and status logic it calls). It
// reads nothing but its input, so the same input gives the same plan.
// It fails with ErrUnknownStrategy for an unknown strategy type.
func PlanRollout(in RolloutInput) (*RolloutPlan, error) {
	p := &planner{
		d:              in.Deployment.DeepCopy(),
		oldPodsRunning: in.OldPodsRunning,
		now:            metav1.NewTime(in.Now),
		plan:           &RolloutPlan{},
		index:          make(map[*appsv1.ReplicaSet]int),
	}
	for _, rs := range in.ReplicaSets {
		p.rss = append(p.rss, rs.DeepCopy())
	}
	if err := p.syncDeployment(); err != nil {
		return nil, err
	}
	p.plan.Deployment = p.d
	p.plan.AnnotationsChanged = !reflect.DeepEqual(p.d.Annotations, in.Deployment.Annotations)
	p.plan.StatusChanged = !apiequality.Semantic.DeepEqual(p.d.Status, in.Deployment.Status)
	return p.plan, nil
}

func (p *planner) syncDeployment() error {
	d := p.d
	if d.Spec.Selector == nil || reflect.DeepEqual(d.Spec.Selector, &metav1.LabelSelector{}) {
		p.event(corev1.EventTypeWarning, "SelectingAll", "This deployment is selecting all pods. A non-empty selector is required.")
		if d.Status.ObservedGeneration < d.Generation {
			d.Status.ObservedGeneration = d.Generation
		}
		return nil
	}
	if d.DeletionTimestamp != nil {
		newRS, oldRSs := p.replicaSetsAndSyncRevision(false)
		p.syncDeploymentStatus(append(oldRSs, newRS), newRS)
		return nil
	}
	p.checkPausedConditions()
	if d.Spec.Paused {
		p.sync()
		return nil
	}
	if p.isScalingEvent() {
		p.sync()
		return nil
	}
	switch d.Spec.Strategy.Type {
	case appsv1.RecreateDeploymentStrategyType:
		p.rolloutRecreate()
	case appsv1.RollingUpdateDeploymentStrategyType:
		p.rolloutRolling()
	default:
		return fmt.Errorf("deployment %s/%s: %w %q", d.Namespace, d.Name, ErrUnknownStrategy, d.Spec.Strategy.Type)
	}
	return nil
}

func (p *planner) event(typ, reason, msg string) {
	p.plan.Events = append(p.plan.Events, Event{Type: typ, Reason: reason, Message: msg})
}

// write records a write to rs (already applied to the working copy). A
// second write to the same ReplicaSet in one sync folds into the first
// action: the plan holds one write per ReplicaSet with its final state.
func (p *planner) write(typ ActionType, rs *appsv1.ReplicaSet, from, to int32) {
	if i, ok := p.index[rs]; ok {
		a := &p.plan.Actions[i]
		a.ReplicaSet, a.To = rs.DeepCopy(), to
		if a.Type == ActionUpdate && from != to {
			a.Type = ActionScale
		}
		return
	}
	p.index[rs] = len(p.plan.Actions)
	p.plan.Actions = append(p.plan.Actions, Action{Type: typ, ReplicaSet: rs.DeepCopy(), From: from, To: to})
}

func (p *planner) remove(rs *appsv1.ReplicaSet) {
	p.plan.Actions = append(p.plan.Actions, Action{Type: ActionDelete, ReplicaSet: rs.DeepCopy(),
		From: replicas(rs.Spec.Replicas), To: replicas(rs.Spec.Replicas)})
	for i, r := range p.rss {
		if r == rs {
			p.rss = append(p.rss[:i], p.rss[i+1:]...)
			break
		}
	}
}
