/**
 * Save as PDF (desktop app only): the self-contained HTML report is opened in a hidden, sandboxed
 * window with no preload and JavaScript limited to the report's own inline script (its CSP), the
 * charts are given time to draw, and Chromium's printToPDF writes the pages with the print
 * stylesheet (folded sections opened, data tables beside the charts).
 */
import { BrowserWindow } from 'electron'
import { registerReport } from './protocol'

/** Prints one HTML document to PDF bytes. */
export async function htmlToPdf(html: string): Promise<Uint8Array> {
  // Served from memory over hmmlab://report/ (protocol.ts), never written to a file:// page.
  const report = registerReport(html)
  // Written out like the main window's (window.ts), not shared: electronegativity checks the literal
  // options at each `new BrowserWindow`, and a shared constant would hide them from it.
  const win = new BrowserWindow({
    show: false,
    width: 1200,
    height: 1600,
    webPreferences: {
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      experimentalFeatures: false,
      webviewTag: false,
      disableBlinkFeatures: 'Auxclick',
    },
  })
  try {
    await win.loadURL(report.url)
    // Chart.js draws on load with animation off; one more frame lets layout settle.
    await win.webContents.executeJavaScript('new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(() => r(true))))', true)
    const pdf = await win.webContents.printToPDF({ printBackground: true, pageSize: 'A4' })
    return new Uint8Array(pdf)
  } finally {
    win.destroy()
    report.dispose()
  }
}
