import { createApp } from 'vue'
import { createPinia } from 'pinia'
import App from './App.vue'
import { useBridge } from './bridge'
import { initTheme } from './lib/theme'
import { warmBridgeWorker } from './lib/worker-client'
import { createAppRouter } from './router'
import './styles.css'

initTheme()
createApp(App).use(createPinia()).use(createAppRouter()).mount('#app')

// The bridge worker (large answers off the main thread) loads while the first view settles.
const idle = (cb: () => void): void => void (window.requestIdleCallback ? window.requestIdleCallback(cb, { timeout: 2000 }) : setTimeout(cb, 500))
idle(() => warmBridgeWorker(useBridge()))
