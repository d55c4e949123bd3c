/** Hash routes of the views (hash history works from file:// in Electron and from the browser host). */
import { createRouter, createWebHashHistory, type RouteRecordRaw } from 'vue-router'
import { useBridge } from './bridge'
import { prefetchRun } from './lib/run-prefetch'

export const viewRoutes: RouteRecordRaw[] = [
  { path: '/', redirect: '/experiments' },
  { path: '/experiments', name: 'experiments', component: () => import('./views/ExperimentsView.vue'), meta: { title: 'Experiments' } },
  { path: '/runs', name: 'runs', component: () => import('./views/RunsView.vue'), meta: { title: 'Runs' } },
  {
    path: '/results',
    name: 'results',
    component: () => import('./views/ResultsView.vue'),
    meta: { title: 'Results' },
    // Start a run's requests before the view (and Chart.js) has loaded; the view takes them over.
    beforeEnter: (to) => {
      if (typeof to.query.run === 'string' && to.query.run) prefetchRun(useBridge(), to.query.run)
    },
  },
  { path: '/compare', name: 'compare', component: () => import('./views/CompareView.vue'), meta: { title: 'Compare' } },
  { path: '/hardware', name: 'hardware', component: () => import('./views/HardwareView.vue'), meta: { title: 'Hardware' } },
  { path: '/reports', name: 'reports', component: () => import('./views/ReportsView.vue'), meta: { title: 'Reports' } },
  { path: '/:pathMatch(.*)*', redirect: '/experiments' },
]

export function createAppRouter() {
  return createRouter({ history: createWebHashHistory(), routes: viewRoutes })
}
